package main

import (
	"strings"
	"time"
)

// strftime formats t with the strftime subset NSQ's nsq_to_file supports:
// %Y %y %m %d %H %I %M %S %p %B %b %A %a %Z %z and %%. Any other %x is
// kept as it is.
//
// NSQ translates these directives into a Go time layout and formats that,
// so literal text that happens to be a Go layout token is rewritten too
// (`v1-%Y` gives `v11-2026` in November). We format each directive
// ourselves and keep literal text literal: a deliberate fix.
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		if layout, ok := strftimeLayouts[format[i]]; ok {
			b.WriteString(t.Format(layout))
			continue
		}
		switch format[i] {
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// strftimeLayouts maps each directive to the Go layout that prints it.
var strftimeLayouts = map[byte]string{
	'Y': "2006",
	'y': "06",
	'm': "01",
	'd': "02",
	'H': "15",
	'I': "03",
	'M': "04",
	'S': "05",
	'p': "PM",
	'B': "January",
	'b': "Jan",
	'A': "Monday",
	'a': "Mon",
	'Z': "MST",
	'z': "-0700",
}
