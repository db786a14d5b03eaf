package tutti

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the gRPC status the router answered, or one the
// client made itself before sending anything.
type Error struct {
	status *status.Status
}

// Error reads "NOT_FOUND: composition \"x\" ...", the canonical code name first.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", CodeName(e.status.Code()), e.status.Message())
}

// Code is the status code.
func (e *Error) Code() codes.Code { return e.status.Code() }

// Message is the status message, without the code.
func (e *Error) Message() string { return e.status.Message() }

// GRPCStatus lets status.FromError and status.Code read the error.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// asError wraps any error of a gRPC call; an error that carries no status is
// UNKNOWN, as grpc-go itself treats it.
func asError(err error) error {
	if err == nil {
		return nil
	}
	if known, ok := err.(*Error); ok {
		return known
	}
	s, _ := status.FromError(err)
	return &Error{status: s}
}

func errorf(code codes.Code, format string, args ...interface{}) *Error {
	return &Error{status: status.Newf(code, format, args...)}
}

// The names google.rpc.Code gives, which grpc-go spells in camel case.
var codeNames = map[codes.Code]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName is the canonical name of a status code: "NOT_FOUND", not "NotFound".
func CodeName(code codes.Code) string {
	if name, ok := codeNames[code]; ok {
		return name
	}
	return fmt.Sprintf("CODE(%d)", uint32(code))
}
