// Command ticketdesk is a user's Go program over tutti.dev/go, as a service
// of theirs would import it: it routes acme.v1.Ticket (an enum, a nested
// message, a repeated field) to the acme-tickets composition with no
// generated code of acme's protos, and prints what it read back as JSON for
// tests/clients/test_go_library.py to check.
//
//	ticketdesk -router HOST:PORT route|list|errors|complete|leave
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"tutti.dev/go/tutti"
	tuttiv1 "tutti.dev/go/tutti/v1"
)

func main() {
	router := flag.String("router", "127.0.0.1:50051", "the router's host:port")
	composition := flag.String("composition", "acme-tickets", "the composition to route to")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := tutti.Dial(*router)
	if err != nil {
		fail(err)
	}
	defer client.Close()

	var out interface{}
	switch flag.Arg(0) {
	case "route":
		out, err = route(ctx, client, *composition)
	case "list":
		out, err = list(ctx, client)
	case "errors":
		out, err = typedErrors(ctx, client, *composition)
	case "complete":
		out, err = complete(ctx, client, *composition)
	case "leave":
		out, err = leave(client, *composition)
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

// route sends a ticket built as a map and reads every field of the answer
// through protoreflect.
func route(ctx context.Context, client *tutti.Client, composition string) (interface{}, error) {
	ticket := map[string]interface{}{
		"subject":  "Charged twice",
		"body":     "My invoice shows the same charge two times.",
		"urgency":  "URGENCY_HIGH",
		"customer": map[string]interface{}{"id": "c-42", "orders": 7},
		"tags":     []string{"billing", "vip"},
	}
	answer, err := client.Route(ctx, composition, ticket)
	if err != nil {
		return nil, err
	}
	output := answer.Output
	fields := output.Descriptor().Fields()
	customer := output.Get(fields.ByName("customer")).Message()
	customerFields := customer.Descriptor().Fields()
	urgency := fields.ByName("urgency")
	scores := map[string]float64{}
	output.Get(fields.ByName("scores")).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		scores[k.String()] = v.Float()
		return true
	})
	stages := []string{}
	for _, run := range answer.Execution.GetStages() {
		stages = append(stages, run.GetStage())
	}
	printed, err := answer.OutputJSON()
	if err != nil {
		return nil, err
	}
	return map[string]interface{}{
		"type":      string(output.Descriptor().FullName()),
		"queue":     output.Get(fields.ByName("queue")).String(),
		"reply":     output.Get(fields.ByName("reply")).String(),
		"urgency":   string(urgency.Enum().Values().ByNumber(output.Get(urgency).Enum()).Name()),
		"customer":  map[string]interface{}{"id": customer.Get(customerFields.ByName("id")).String(), "orders": customer.Get(customerFields.ByName("orders")).Int()},
		"scores":    scores,
		"stages":    stages,
		"path":      answer.Execution.GetPath(),
		"protojson": json.RawMessage(printed),
	}, nil
}

// list names what the router serves and the fields of each input type.
func list(ctx context.Context, client *tutti.Client) (interface{}, error) {
	compositions, err := client.ListCompositions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	for _, c := range compositions {
		inputFields := []string{}
		for i := 0; i < c.Input.Fields().Len(); i++ {
			inputFields = append(inputFields, string(c.Input.Fields().Get(i).Name()))
		}
		out[c.Name()] = map[string]interface{}{
			"input":        string(c.Input.FullName()),
			"output":       string(c.Output.FullName()),
			"input_fields": inputFields,
			"stages":       c.Info.GetStages(),
		}
	}
	return out, nil
}

type failure struct {
	// Code as status.Code reads it, and as *tutti.Error names it.
	Code    string `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Typed   bool   `json:"typed"`
}

func failed(err error) failure {
	var typed *tutti.Error
	isTyped := errors.As(err, &typed)
	s, _ := status.FromError(err)
	name := ""
	if isTyped {
		name = tutti.CodeName(typed.Code())
	}
	return failure{Code: s.Code().String(), Name: name, Message: s.Message(), Typed: isTyped}
}

// typedErrors makes each failure a user meets and prints the status it carries.
func typedErrors(ctx context.Context, client *tutti.Client, composition string) (interface{}, error) {
	out := map[string]failure{}
	_, err := client.Route(ctx, "no-such-composition", `{"subject": "hi"}`)
	out["unknown_composition"] = failed(err)
	_, err = client.Route(ctx, composition, `{"subject": "hi", "priority": 3}`)
	out["unknown_field"] = failed(err)
	_, err = client.Route(ctx, composition, `{"urgency": "URGENCY_SOMEDAY"}`)
	out["unknown_enum_value"] = failed(err)
	_, err = client.Route(ctx, composition, &tuttiv1.Text{Text: "not a ticket"})
	out["wrong_message_type"] = failed(err)
	// The router's own answer: a request its validation refuses, through the generated stub.
	_, err = client.Router().Route(ctx, &tuttiv1.RouteRequest{Composition: composition})
	out["router_validation"] = failed(err)
	for name, f := range out {
		if f.Code == "OK" {
			return nil, fmt.Errorf("%s did not fail", name)
		}
	}
	return out, nil
}

// complete streams a completion of a composition whose last stage streams.
func complete(ctx context.Context, client *tutti.Client, composition string) (interface{}, error) {
	deltas, answer, err := completion(ctx, client, composition)
	if err != nil {
		return nil, err
	}
	var completion tuttiv1.Completion
	if err := answer.Unpack(&completion); err != nil {
		return nil, err
	}
	stages := []string{}
	for _, run := range answer.Execution.GetStages() {
		stages = append(stages, run.GetStage())
	}
	sort.Strings(stages)
	return map[string]interface{}{
		"deltas": deltas,
		"text":   completion.GetText(),
		"type":   string(answer.Output.Descriptor().FullName()),
		"stages": stages,
	}, nil
}

// completion reads one completion to its end, as most callers do.
func completion(ctx context.Context, client *tutti.Client, composition string) ([]string, *tutti.Answer, error) {
	stream, err := client.RouteCompletion(ctx, composition, map[string]string{"text": "Say hello."})
	if err != nil {
		return nil, nil, err
	}
	// No Close: a completion read to io.EOF, or to an error, has freed its stream.
	deltas := []string{}
	for {
		delta, err := stream.Recv()
		if err == io.EOF {
			return deltas, stream.Answer(), nil
		}
		if err != nil {
			return nil, nil, err
		}
		deltas = append(deltas, delta)
	}
}

// leave closes one completion after its first piece and reads others to their
// end, all under a context that never ends by itself: a stream grpc-go still
// held would keep a goroutine of its own, so the goroutines coming back to
// their count before says that no stream is left behind.
func leave(client *tutti.Client, composition string) (interface{}, error) {
	ctx := context.Background()
	// The connection's own goroutines start with the first call: count after it.
	if _, _, err := completion(ctx, client, composition); err != nil {
		return nil, err
	}
	before := runtime.NumGoroutine()
	stream, err := client.RouteCompletion(ctx, composition, map[string]string{"text": "Say hello."})
	if err != nil {
		return nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	stream.Close()
	_, afterClose := stream.Recv()
	stream.Close() // twice is harmless
	// The client still streams after a completion it left, to the end each time.
	later := []string{}
	for i := 0; i < 2; i++ {
		deltas, _, err := completion(ctx, client, composition)
		if err != nil {
			return nil, err
		}
		later = append(later, strings.Join(deltas, ""))
	}
	// A finished stream's goroutine exits just after the call returns: poll for it.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return map[string]interface{}{
		"first":             first,
		"after_close":       failed(afterClose),
		"later":             later,
		"goroutines_before": before,
		"goroutines_after":  runtime.NumGoroutine(),
	}, nil
}
