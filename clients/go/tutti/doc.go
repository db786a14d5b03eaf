// Package tutti is the Go client of a Tutti router: it routes an input to a
// composition and reads the output back, for any composition's types.
//
// A router tells, per composition, the descriptors of its input and output
// types (RouterService.ListCompositions). The client builds messages from
// them with dynamicpb, so a program needs no generated code of a
// composition's own protos: the input is JSON text, a map or, when the
// program has the generated type, a proto.Message; the output is a
// *dynamicpb.Message, printed with protojson.
//
//	client, err := tutti.Dial("127.0.0.1:50051")
//	answer, err := client.Route(ctx, "acme-tickets", `{"text": "I was charged twice"}`)
//	reply := answer.Output.Get(answer.Output.Descriptor().Fields().ByName("reply")).String()
//
// RouteCompletion streams the text of the stage that answers last. Read it
// with Recv until io.EOF, then Answer; a completion read to io.EOF (or to an
// error) has freed its stream. To stop reading earlier, Close it: that
// cancels the call, even when ctx has no deadline.
//
//	stream, err := client.RouteCompletion(ctx, "reply", `{"text": "Say hello."}`)
//	if err != nil {
//		return err
//	}
//	defer stream.Close()
//	for {
//		text, err := stream.Recv()
//		if err == io.EOF {
//			break // stream.Answer() is the output and the execution
//		}
//		...
//	}
//
// Every error a call returns is an *Error carrying a gRPC status: the
// router's, or one the client made for what it refused to send (an input
// that does not fit the composition's type is INVALID_ARGUMENT, a
// composition the router does not list is NOT_FOUND). status.FromError and
// status.Code read it like any gRPC error.
//
// The generated stubs of every tutti.v1 service are in tutti.dev/go/tutti/v1.
package tutti
