// Command tutti-route sends one input to a composition through
// tutti.v1.RouterService/Route and prints the output and the execution
// record as JSON.
//
//	tutti-route -router 127.0.0.1:50051 -composition quickstart -text "I forgot my password"
//	tutti-route -router 127.0.0.1:50051 -composition support-desk -type support -text "..."
//
// It is built offline by build.sh, in GOPATH mode, against Debian's grpc-go
// 1.33 and golang/protobuf 1.3; the Go code of the protos is generated there.
// On a gRPC error it prints "error: CODE: details" to stderr and exits 1; bad
// usage exits 2.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/golang/protobuf/proto"
	"github.com/golang/protobuf/ptypes"
	"github.com/golang/protobuf/ptypes/any"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	supportv1 "tutti.example/gen/tutti/support/v1"
	tuttiv1 "tutti.example/gen/tutti/v1"
)

// The payload types the client knows: what it packs and what it expects back.
type payload struct {
	input  func(text string) proto.Message
	output func() proto.Message
	show   func(proto.Message) interface{}
}

var payloads = map[string]payload{
	// The quickstart: tutti.v1.Text in, tutti.v1.Text out.
	"text": {
		input:  func(text string) proto.Message { return &tuttiv1.Text{Text: text} },
		output: func() proto.Message { return &tuttiv1.Text{} },
		show: func(m proto.Message) interface{} {
			return map[string]interface{}{"text": m.(*tuttiv1.Text).GetText()}
		},
	},
	// The support desk: tutti.support.v1.Ticket in, tutti.support.v1.Resolution out.
	"support": {
		input:  func(text string) proto.Message { return &supportv1.Ticket{Text: text} },
		output: func() proto.Message { return &supportv1.Resolution{} },
		show: func(m proto.Message) interface{} {
			r := m.(*supportv1.Resolution)
			intent := r.GetTriage().GetIntent()
			return map[string]interface{}{
				"reply":             r.GetReply(),
				"escalate_to_human": r.GetEscalateToHuman(),
				"macro":             r.GetMacro(),
				"department":        r.GetTriage().GetDepartment(),
				"intent": map[string]interface{}{
					"label":      intent.GetLabel(),
					"confidence": intent.GetConfidence(),
				},
			}
		},
	},
}

type stageJSON struct {
	Stage     string  `json:"stage"`
	Status    string  `json:"status"`
	LatencyMs float64 `json:"latency_ms"`
	CostUsd   float64 `json:"cost_usd"`
	CacheHit  bool    `json:"cache_hit"`
	Detail    string  `json:"detail,omitempty"`
}

type executionJSON struct {
	Composition  string      `json:"composition"`
	Stages       []stageJSON `json:"stages"`
	Path         []string    `json:"path"`
	TotalCostUsd float64     `json:"total_cost_usd"`
	LatencyMs    float64     `json:"latency_ms"`
}

type answerJSON struct {
	OutputType string        `json:"output_type"`
	Output     interface{}   `json:"output"`
	Execution  executionJSON `json:"execution"`
}

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "usage error: "+format+"\n", args...)
	flag.Usage()
	os.Exit(2)
}

func fail(err error) {
	s, _ := status.FromError(err)
	fmt.Fprintf(os.Stderr, "error: %s: %s\n", codeName(s.Code().String()), s.Message())
	os.Exit(1)
}

// codeName turns grpc-go's "NotFound" into the canonical "NOT_FOUND".
func codeName(camel string) string {
	out := make([]rune, 0, len(camel)+4)
	for i, r := range camel {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out = append(out, '_')
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		out = append(out, r)
	}
	return string(out)
}

func main() {
	router := flag.String("router", "127.0.0.1:50051", "the router's host:port")
	composition := flag.String("composition", "quickstart", "the composition to route to")
	text := flag.String("text", "", "the input text")
	kind := flag.String("type", "text", "the payload: text (tutti.v1.Text) or support (tutti.support.v1.Ticket)")
	timeout := flag.Duration("timeout", 10*time.Second, "the call's deadline")
	flag.Parse()
	if flag.NArg() > 0 {
		usage("unexpected arguments: %v", flag.Args())
	}
	p, ok := payloads[*kind]
	if !ok {
		usage("-type must be text or support, not %q", *kind)
	}
	if *composition == "" {
		usage("-composition is required")
	}

	input, err := ptypes.MarshalAny(p.input(*text))
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: packing the input: %v\n", err)
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.DialContext(ctx, *router, grpc.WithInsecure())
	if err != nil {
		fail(err)
	}
	defer conn.Close()

	response, err := tuttiv1.NewRouterServiceClient(conn).Route(ctx, &tuttiv1.RouteRequest{
		Composition: *composition,
		Input:       input,
	})
	if err != nil {
		fail(err)
	}

	answer, err := render(response, p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetEscapeHTML(false) // replies hold "Settings > Security"
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(answer); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func render(response *tuttiv1.RouteResponse, p payload) (*answerJSON, error) {
	output := response.GetOutput()
	if output == nil {
		output = &any.Any{}
	}
	message := p.output()
	if err := ptypes.UnmarshalAny(output, message); err != nil {
		return nil, fmt.Errorf("the output is %q, not %s: %v",
			output.GetTypeUrl(), proto.MessageName(message), err)
	}
	execution := response.GetExecution()
	answer := &answerJSON{
		OutputType: proto.MessageName(message),
		Output:     p.show(message),
		Execution: executionJSON{
			Composition:  execution.GetComposition(),
			Stages:       []stageJSON{},
			Path:         append([]string{}, execution.GetPath()...),
			TotalCostUsd: execution.GetTotalCostUsd(),
			LatencyMs:    execution.GetLatencyMs(),
		},
	}
	for _, run := range execution.GetStages() {
		answer.Execution.Stages = append(answer.Execution.Stages, stageJSON{
			Stage:     run.GetStage(),
			Status:    run.GetStatus().String(),
			LatencyMs: run.GetLatencyMs(),
			CostUsd:   run.GetCostUsd(),
			CacheHit:  run.GetCacheHit(),
			Detail:    run.GetDetail(),
		})
	}
	return answer, nil
}
