package tutti

import (
	"context"
	"io"

	"google.golang.org/grpc/codes"

	tuttiv1 "tutti.dev/go/tutti/v1"
)

// Completion is a RouteCompletion in flight: the text of the stage that
// answers last, piece by piece, then the answer. Read it with Recv to io.EOF,
// or Close it to stop early.
type Completion struct {
	composition *Composition
	stream      tuttiv1.RouterService_RouteCompletionClient
	// cancel ends the call: grpc-go frees a stream once it has read the
	// stream's end or its context is done, and a caller's context may never be.
	cancel context.CancelFunc
	answer *Answer
	err    error
}

// RouteCompletion runs one input like Route and streams the answering
// stage's text as it is generated. Read it with Recv; Close it when leaving
// before io.EOF.
func (c *Client) RouteCompletion(ctx context.Context, composition string, input interface{}, opts ...RouteOption) (*Completion, error) {
	known, request, err := c.request(ctx, composition, input, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.router.RouteCompletion(ctx, &tuttiv1.RouteCompletionRequest{
		Composition: request.Composition,
		Input:       request.Input,
		Options:     request.Options,
	})
	if err != nil {
		cancel()
		return nil, asError(err)
	}
	return &Completion{composition: known, stream: stream, cancel: cancel}, nil
}

// Recv is the next piece of text; io.EOF once the answer has come (read it
// with Answer). Any other error ends the completion: the text received so
// far is not an answer and is to be discarded. After Close, Recv is
// CANCELLED (or io.EOF if the answer had come).
func (s *Completion) Recv() (string, error) {
	if s.answer != nil {
		return "", io.EOF
	}
	if s.err != nil {
		return "", s.err
	}
	for {
		event, err := s.stream.Recv()
		if err == io.EOF {
			return s.fail(errorf(codes.Internal, "the completion ended without an answer"))
		}
		if err != nil {
			return s.fail(asError(err))
		}
		switch kind := event.GetEvent().(type) {
		case *tuttiv1.RouteCompletionResponse_Delta:
			return kind.Delta, nil
		case *tuttiv1.RouteCompletionResponse_Response:
			answer, err := s.composition.answer(kind.Response)
			if err != nil {
				return s.fail(err)
			}
			// The response is the last event: read the stream's end, which
			// is also what lets grpc-go free it.
			_, err = s.stream.Recv()
			if err == nil {
				return s.fail(errorf(codes.Internal, "the router sent more after the response"))
			}
			if err != io.EOF {
				return s.fail(asError(err))
			}
			s.cancel()
			s.answer = answer
			return "", io.EOF
		}
	}
}

func (s *Completion) fail(err error) (string, error) {
	s.cancel()
	s.err = err
	return "", err
}

// Answer is the output and execution once Recv has returned io.EOF; nil before.
func (s *Completion) Answer() *Answer { return s.answer }

// Close stops the completion: the router stops generating, and the call's
// resources are freed. A completion read to io.EOF needs no Close, but
// `defer stream.Close()` is always safe; Close may be called more than once,
// and from another goroutine than the one in Recv.
func (s *Completion) Close() { s.cancel() }
