// Command tutti-route sends one input to a composition through a Tutti router
// and prints the output and the execution record as JSON, for any
// composition's types (read from the router's descriptors).
//
//	tutti-route -router 127.0.0.1:50051 -composition quickstart -text "I forgot my password"
//	tutti-route -router 127.0.0.1:50051 -composition acme-tickets -json '{"text": "...", "priority": "PRIORITY_HIGH"}'
//	tutti-route -router 127.0.0.1:50051 -list
//
// -text T is short for -json '{"text": T}'. On a gRPC error it prints
// "error: CODE: details" to stderr and exits 1; bad usage exits 2.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"tutti.dev/go/tutti"
)

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "usage error: "+format+"\n", args...)
	flag.Usage()
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

func main() {
	router := flag.String("router", "127.0.0.1:50051", "the router's host:port")
	composition := flag.String("composition", "quickstart", "the composition to route to")
	text := flag.String("text", "", `the input's text field: short for -json '{"text": TEXT}'`)
	input := flag.String("json", "", "the input, as protojson of the composition's input type")
	list := flag.Bool("list", false, "print the compositions the router serves, and route nothing")
	timeout := flag.Duration("timeout", 10*time.Second, "the call's deadline")
	flag.Parse()
	if flag.NArg() > 0 {
		usage("unexpected arguments: %v", flag.Args())
	}
	if *input != "" && *text != "" {
		usage("give -json or -text, not both")
	}
	if *input == "" {
		encoded, _ := json.Marshal(map[string]string{"text": *text})
		*input = string(encoded)
	}
	if !json.Valid([]byte(*input)) {
		usage("-json is not JSON: %s", *input)
	}
	if *composition == "" && !*list {
		usage("-composition is required")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client, err := tutti.Dial(*router)
	if err != nil {
		fail(err)
	}
	defer client.Close()

	var printed interface{}
	if *list {
		printed, err = listed(ctx, client)
	} else {
		printed, err = routed(ctx, client, *composition, *input)
	}
	if err != nil {
		fail(err)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetEscapeHTML(false) // replies hold "Settings > Security"
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(printed); err != nil {
		fail(err)
	}
}

type compositionJSON struct {
	Name       string   `json:"name"`
	InputType  string   `json:"input_type"`
	OutputType string   `json:"output_type"`
	Stages     []string `json:"stages"`
}

func listed(ctx context.Context, client *tutti.Client) ([]compositionJSON, error) {
	compositions, err := client.ListCompositions(ctx)
	if err != nil {
		return nil, err
	}
	out := []compositionJSON{}
	for _, c := range compositions {
		out = append(out, compositionJSON{
			Name:       c.Name(),
			InputType:  string(c.Input.FullName()),
			OutputType: string(c.Output.FullName()),
			Stages:     append([]string{}, c.Info.GetStages()...),
		})
	}
	return out, nil
}

type answerJSON struct {
	OutputType string          `json:"output_type"`
	Output     json.RawMessage `json:"output"`
	Execution  json.RawMessage `json:"execution"`
}

func routed(ctx context.Context, client *tutti.Client, composition, input string) (*answerJSON, error) {
	answer, err := client.Route(ctx, composition, input)
	if err != nil {
		return nil, err
	}
	output, err := answer.OutputJSON()
	if err != nil {
		return nil, err
	}
	execution, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(answer.Execution)
	if err != nil {
		return nil, err
	}
	return &answerJSON{
		OutputType: string(answer.Output.Descriptor().FullName()),
		Output:     compact(output),
		Execution:  compact(execution),
	}, nil
}

// compact drops the whitespace protojson varies on purpose, so the encoder indents it alone.
func compact(text []byte) json.RawMessage {
	var out bytes.Buffer
	if err := json.Compact(&out, text); err != nil {
		return text
	}
	return out.Bytes()
}
