package promtext

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// ContentType is the media type of the text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Type is a metric family type.
type Type string

// Family types.
const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
	Summary Type = "summary"
)

// Label is one name="value" pair of a sample.
type Label struct{ Name, Value string }

type sample struct {
	suffix string // "", "_sum", "_count"
	labels []Label
	value  float64
}

type family struct {
	name, help string
	typ        Type
	samples    []sample
}

// Writer collects families and writes them sorted by name, each family's
// samples sorted by their labels, as the Prometheus client does. Not safe
// for concurrent use.
type Writer struct {
	fams  map[string]*family
	order []string
}

// New returns an empty Writer.
func New() *Writer { return &Writer{fams: make(map[string]*family)} }

// Add records one sample of family name; the first Add of a name fixes
// its help and type. Labels are sorted by name on output.
func (w *Writer) Add(name, help string, typ Type, value float64, labels ...Label) {
	w.add(name, help, typ, "", value, labels)
}

// AddSummaryTotals records the _sum and _count samples of a summary
// (quantile samples are added with Add and a "quantile" label).
func (w *Writer) AddSummaryTotals(name, help string, sum float64, count uint64, labels ...Label) {
	w.add(name, help, Summary, "_sum", sum, labels)
	w.add(name, help, Summary, "_count", float64(count), labels)
}

func (w *Writer) add(name, help string, typ Type, suffix string, value float64, labels []Label) {
	f := w.fams[name]
	if f == nil {
		f = &family{name: name, help: help, typ: typ}
		w.fams[name] = f
		w.order = append(w.order, name)
	}
	ls := append([]Label(nil), labels...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	f.samples = append(f.samples, sample{suffix: suffix, labels: ls, value: value})
}

// Bytes renders everything added so far.
func (w *Writer) Bytes() []byte {
	var b bytes.Buffer
	names := append([]string(nil), w.order...)
	sort.Strings(names)
	for _, name := range names {
		f := w.fams[name]
		b.WriteString("# HELP " + name + " " + escapeHelp(f.help) + "\n")
		b.WriteString("# TYPE " + name + " " + string(f.typ) + "\n")
		sort.SliceStable(f.samples, func(i, j int) bool { return labelKey(f.samples[i]) < labelKey(f.samples[j]) })
		for _, s := range f.samples {
			b.WriteString(name + s.suffix)
			if len(s.labels) > 0 {
				b.WriteByte('{')
				for i, l := range s.labels {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(l.Name + `="` + escapeValue(l.Value) + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(formatValue(s.value))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// labelKey orders samples by their label values, a summary's _sum and
// _count after its quantile samples.
func labelKey(s sample) string {
	var k strings.Builder
	k.WriteString(map[string]string{"": "0", "_sum": "1", "_count": "2"}[s.suffix])
	for _, l := range s.labels {
		k.WriteString(l.Value)
		k.WriteByte(0)
	}
	return k.String()
}

func formatValue(v float64) string {
	switch {
	case v != v:
		return "NaN"
	case v > 1.7976931348623157e308:
		return "+Inf"
	case v < -1.7976931348623157e308:
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeValue(s string) string { return valueEscaper.Replace(s) }

// Handler serves the families collect adds to a fresh Writer on every
// request.
func Handler(collect func(w *Writer)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w := New()
		collect(w)
		body := w.Bytes()
		rw.Header().Set("Content-Type", ContentType)
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		rw.Write(body)
	})
}
