package testutil

import (
	"encoding/json"
	"fmt"
)

// JSONKind names the JSON kind of a value decoded into any: "null",
// "object", "array", "string", "number" (float64 or, with UseNumber,
// json.Number) or "bool", so that tests about a reply's shape can tell
// null from [] and a number from a string.
func JSONKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}
