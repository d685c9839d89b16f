package cfg

import (
	"flag"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Setter is implemented by option types with their own text syntax
// (log levels, TLS versions, ...).
type Setter interface {
	Set(string) error
}

// LoadFile reads a TOML config file into a key → value map. An empty path
// yields an empty map.
func LoadFile(path string) (map[string]any, error) {
	m := map[string]any{}
	if path == "" {
		return m, nil
	}
	if _, err := toml.DecodeFile(path, &m); err != nil {
		return nil, fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	return m, nil
}

// Key returns the config-file key of a struct field, or "" if the field
// is not an option.
func Key(f reflect.StructField) string {
	name := f.Tag.Get("flag")
	if name == "" {
		return ""
	}
	if k := f.Tag.Get("cfg"); k != "" {
		return k
	}
	return strings.ReplaceAll(name, "-", "_")
}

// Resolve sets every tagged field of *opts from an explicitly set flag of
// fs, else from file, else leaves it as it is (the default). An error names
// the flag whose value was bad.
func Resolve(opts any, fs *flag.FlagSet, file map[string]any) error {
	set := map[string]bool{}
	if fs != nil {
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	}
	v := reflect.ValueOf(opts).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		key := Key(sf)
		if key == "" {
			continue
		}
		name := sf.Tag.Get("flag")
		var val any
		switch {
		case set[name]:
			f := fs.Lookup(name)
			if g, ok := f.Value.(flag.Getter); ok {
				val = g.Get()
			} else {
				val = f.Value.String()
			}
		case file[key] != nil:
			val = file[key]
		default:
			continue
		}
		if err := Assign(v.Field(i), val); err != nil {
			return fmt.Errorf("invalid value for --%s (config key %s): %w", name, key, err)
		}
	}
	return nil
}

// Lookup returns the option whose config key is key.
func Lookup(opts any, key string) (reflect.Value, bool) {
	v := reflect.ValueOf(opts).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if Key(t.Field(i)) == key {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

var durationType = reflect.TypeOf(time.Duration(0))

// Assign converts val (a flag value, a TOML value or a string) to the
// type of field and stores it.
func Assign(field reflect.Value, val any) error {
	if s, ok := field.Addr().Interface().(Setter); ok {
		if reflect.TypeOf(val) == field.Type() {
			field.Set(reflect.ValueOf(val))
			return nil
		}
		return s.Set(toString(val))
	}
	if field.Type() == durationType {
		d, err := toDuration(val)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
		return nil
	}
	switch field.Kind() {
	case reflect.String:
		field.SetString(toString(val))
	case reflect.Bool:
		switch b := val.(type) {
		case bool:
			field.SetBool(b)
		case string:
			x, err := strconv.ParseBool(b)
			if err != nil {
				return err
			}
			field.SetBool(x)
		default:
			return fmt.Errorf("%v is not a boolean", val)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := toInt(val)
		if err != nil {
			return err
		}
		if field.OverflowInt(n) {
			return fmt.Errorf("%d is out of range", n)
		}
		field.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := toInt(val)
		if err != nil {
			return err
		}
		if n < 0 || field.OverflowUint(uint64(n)) {
			return fmt.Errorf("%d is out of range", n)
		}
		field.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, err := toFloat(val)
		if err != nil {
			return err
		}
		field.SetFloat(f)
	case reflect.Slice:
		return assignSlice(field, val)
	default:
		return fmt.Errorf("unsupported option type %s", field.Type())
	}
	return nil
}

func assignSlice(field reflect.Value, val any) error {
	var items []any
	switch x := val.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
	case []any:
		items = x
	default:
		rv := reflect.ValueOf(val)
		if rv.Kind() != reflect.Slice {
			return fmt.Errorf("%v is not a list", val)
		}
		for i := 0; i < rv.Len(); i++ {
			items = append(items, rv.Index(i).Interface())
		}
	}
	out := reflect.MakeSlice(field.Type(), 0, len(items))
	for _, it := range items {
		elem := reflect.New(field.Type().Elem()).Elem()
		// a string item may itself hold a comma-separated list
		if s, ok := it.(string); ok && strings.Contains(s, ",") {
			sub := reflect.New(field.Type()).Elem()
			if err := assignSlice(sub, s); err != nil {
				return err
			}
			out = reflect.AppendSlice(out, sub)
			continue
		}
		if err := Assign(elem, it); err != nil {
			return err
		}
		out = reflect.Append(out, elem)
	}
	field.Set(out)
	return nil
}

func toString(val any) string {
	switch x := val.(type) {
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(val)
}

func toDuration(val any) (time.Duration, error) {
	switch x := val.(type) {
	case time.Duration:
		return x, nil
	case string:
		return time.ParseDuration(x)
	case int64:
		return time.Duration(x) * time.Millisecond, nil
	case int:
		return time.Duration(x) * time.Millisecond, nil
	case float64:
		return time.Duration(x * float64(time.Millisecond)), nil
	}
	return 0, fmt.Errorf("%v is not a duration", val)
}

func toInt(val any) (int64, error) {
	switch x := val.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	}
	return 0, fmt.Errorf("%v is not an integer", val)
}

func toFloat(val any) (float64, error) {
	switch x := val.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("%v is not a number", val)
}

// StringList is a repeatable string flag.
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set appends one value.
func (s *StringList) Set(v string) error { *s = append(*s, v); return nil }

// Get returns the list (flag.Getter).
func (s *StringList) Get() any { return []string(*s) }

// FloatList is a repeatable float flag; each value may also be a
// comma-separated list.
type FloatList []float64

func (f *FloatList) String() string {
	parts := make([]string, len(*f))
	for i, x := range *f {
		parts[i] = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// Set parses and appends one or more comma-separated numbers.
func (f *FloatList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*f = append(*f, x)
	}
	return nil
}

// Get returns the list (flag.Getter).
func (f *FloatList) Get() any { return []float64(*f) }
