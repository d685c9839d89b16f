package protocol

// Error is an error sent to a client as an error frame. Fatal errors close
// the connection after the frame is written; the others leave it usable.
type Error struct {
	Code  string // E_INVALID, E_BAD_BODY, ...
	Desc  string // human text after the code; may be empty
	Fatal bool
}

// Error returns the frame data: the code, a space and the description.
func (e *Error) Error() string {
	if e.Desc == "" {
		return e.Code
	}
	return e.Code + " " + e.Desc
}

// NewFatal returns an error that closes the connection.
func NewFatal(code, desc string) *Error { return &Error{Code: code, Desc: desc, Fatal: true} }

// NewNonFatal returns an error after which the connection stays usable.
func NewNonFatal(code, desc string) *Error { return &Error{Code: code, Desc: desc} }

// Wire error codes.
const (
	ErrInvalid        = "E_INVALID"
	ErrBadBody        = "E_BAD_BODY"
	ErrBadTopic       = "E_BAD_TOPIC"
	ErrBadChannel     = "E_BAD_CHANNEL"
	ErrBadMessage     = "E_BAD_MESSAGE"
	ErrBadProtocol    = "E_BAD_PROTOCOL"
	ErrPubFailed      = "E_PUB_FAILED"
	ErrMPubFailed     = "E_MPUB_FAILED"
	ErrDPubFailed     = "E_DPUB_FAILED"
	ErrSubFailed      = "E_SUB_FAILED"
	ErrFinFailed      = "E_FIN_FAILED"
	ErrReqFailed      = "E_REQ_FAILED"
	ErrTouchFailed    = "E_TOUCH_FAILED"
	ErrIdentifyFailed = "E_IDENTIFY_FAILED"
	ErrAuthFirst      = "E_AUTH_FIRST"
	ErrAuthFailed     = "E_AUTH_FAILED"
	ErrUnauthorized   = "E_UNAUTHORIZED"
	ErrAuthDisabled   = "E_AUTH_DISABLED"
	ErrAuthError      = "E_AUTH_ERROR"
)
