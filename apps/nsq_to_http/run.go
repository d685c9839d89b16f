package main

import (
	"io"
	"log"
	"os"

	"github.com/nsqio/go-nsq"

	"github.com/dropin/nsq/internal/clientapp"
)

// run is nsq_to_http: argv are the program name and flags; it returns the
// exit status.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	o, logger, code, ok := clientapp.Setup(appName, argv, stdout, stderr, parseArgs)
	if !ok {
		return code
	}

	c, err := nsq.NewConsumer(o.topic, o.channel, o.consumer)
	if err != nil {
		logger.Print(err)
		return 1
	}
	c.SetLogger(log.New(stderr, "", log.LstdFlags), nsq.LogLevelInfo)
	c.AddConcurrentHandlers(newPublisher(o, logger), o.numPublishers)
	if err := clientapp.Connect(c, o.nsqdTCP, o.lookupdHTTP); err != nil {
		logger.Print(err)
		return 1
	}

	select {
	case <-c.StopChan:
		return 0
	case <-sigs:
	}
	c.Stop()
	<-c.StopChan
	return 0
}
