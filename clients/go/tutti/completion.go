package tutti

import (
	"context"
	"io"

	"google.golang.org/grpc/codes"

	tuttiv1 "tutti.dev/go/tutti/v1"
)

// Completion is a RouteCompletion in flight: the text of the stage that
// answers last, piece by piece, then the answer.
type Completion struct {
	composition *Composition
	stream      tuttiv1.RouterService_RouteCompletionClient
	answer      *Answer
}

// RouteCompletion runs one input like Route and streams the answering
// stage's text as it is generated. Read it with Recv.
func (c *Client) RouteCompletion(ctx context.Context, composition string, input interface{}, opts ...RouteOption) (*Completion, error) {
	known, err := c.Composition(ctx, composition)
	if err != nil {
		return nil, err
	}
	packed, err := known.pack(input)
	if err != nil {
		return nil, err
	}
	stream, err := c.router.RouteCompletion(ctx, &tuttiv1.RouteCompletionRequest{
		Composition: composition,
		Input:       packed,
		Options:     routeOptions(opts),
	})
	if err != nil {
		return nil, asError(err)
	}
	return &Completion{composition: known, stream: stream}, nil
}

// Recv is the next piece of text; io.EOF once the answer has come (read it
// with Answer). Any other error ends the completion: the text received so
// far is not an answer and is to be discarded.
func (s *Completion) Recv() (string, error) {
	if s.answer != nil {
		return "", io.EOF
	}
	for {
		event, err := s.stream.Recv()
		if err == io.EOF {
			return "", errorf(codes.Internal, "the completion ended without an answer")
		}
		if err != nil {
			return "", asError(err)
		}
		switch kind := event.GetEvent().(type) {
		case *tuttiv1.RouteCompletionResponse_Delta:
			return kind.Delta, nil
		case *tuttiv1.RouteCompletionResponse_Response:
			answer, err := s.composition.answer(kind.Response)
			if err != nil {
				return "", err
			}
			s.answer = answer
			return "", io.EOF
		}
	}
}

// Answer is the output and execution once Recv has returned io.EOF; nil before.
func (s *Completion) Answer() *Answer { return s.answer }
