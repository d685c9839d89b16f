// Package gonsqtest consumes with go-nsq inside a test and records what
// arrives: the one message collector of the suite. Only test code should
// import it.
//
//	c := gonsqtest.Consume(t, topic, "ch", gonsqtest.Options{NSQD: []string{tcpAddr}})
//	c.WaitAll(t, want, 20*time.Second)
//
// Locks: Collector.mu is a leaf lock guarding the bodies and counts; go-nsq
// handler goroutines take it, never while holding another.
package gonsqtest
