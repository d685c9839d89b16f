package names

import "strings"

// EphemeralSuffix marks a topic or channel that lives only in memory.
const EphemeralSuffix = "#ephemeral"

// MaxLength is the longest valid name in bytes, suffix included.
const MaxLength = 64

// IsValidTopicName reports whether name is a valid topic name.
func IsValidTopicName(name string) bool { return isValid(name) }

// IsValidChannelName reports whether name is a valid channel name.
func IsValidChannelName(name string) bool { return isValid(name) }

// IsEphemeral reports whether name carries the #ephemeral suffix.
func IsEphemeral(name string) bool { return strings.HasSuffix(name, EphemeralSuffix) }

// isValid implements ^[.a-zA-Z0-9_-]+(#ephemeral)?$ with a 1..64 byte
// length limit, without a regexp: it runs on every PUB.
func isValid(name string) bool {
	if len(name) == 0 || len(name) > MaxLength {
		return false
	}
	body := strings.TrimSuffix(name, EphemeralSuffix)
	if len(body) == 0 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
