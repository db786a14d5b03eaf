package tutti

import (
	"context"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	tuttiv1 "tutti.dev/go/tutti/v1"
)

// Client routes inputs to the compositions of one router.
type Client struct {
	router tuttiv1.RouterServiceClient
	conn   *grpc.ClientConn // nil when the caller owns the connection

	mu           sync.Mutex
	compositions map[string]*Composition
}

// Dial connects to a router at host:port. With no options the connection is
// plaintext, as a local mesh serves; pass grpc.WithTransportCredentials (and
// whatever else) to choose.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithInsecure()}
	}
	conn, err := grpc.Dial(target, opts...)
	if err != nil {
		return nil, asError(err)
	}
	client := New(conn)
	client.conn = conn
	return client, nil
}

// New is a client over a connection the caller owns (and closes).
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{router: tuttiv1.NewRouterServiceClient(conn)}
}

// Close closes the connection Dial opened; a client made by New leaves its
// connection alone.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Router is the generated RouterService stub under the client, for the calls
// it does not wrap (RouteStream).
func (c *Client) Router() tuttiv1.RouterServiceClient { return c.router }

// ListCompositions asks the router what it serves, and remembers the types
// for Route.
func (c *Client) ListCompositions(ctx context.Context) ([]*Composition, error) {
	response, err := c.router.ListCompositions(ctx, &tuttiv1.ListCompositionsRequest{})
	if err != nil {
		return nil, asError(err)
	}
	listed := make([]*Composition, 0, len(response.GetCompositions()))
	byName := map[string]*Composition{}
	for _, info := range response.GetCompositions() {
		composition, err := newComposition(info)
		if err != nil {
			return nil, err
		}
		listed = append(listed, composition)
		byName[composition.Name()] = composition
	}
	c.mu.Lock()
	c.compositions = byName
	c.mu.Unlock()
	return listed, nil
}

// Composition is one composition by name: from what the router listed last,
// listing again when the name is new (a router's compositions can change).
func (c *Client) Composition(ctx context.Context, name string) (*Composition, error) {
	c.mu.Lock()
	known, ok := c.compositions[name]
	c.mu.Unlock()
	if ok {
		return known, nil
	}
	listed, err := c.ListCompositions(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(listed))
	for _, composition := range listed {
		if composition.Name() == name {
			return composition, nil
		}
		names = append(names, composition.Name())
	}
	sort.Strings(names)
	return nil, errorf(codes.NotFound, "composition %q is not served by this router (it serves: %s)",
		name, strings.Join(names, ", "))
}

// RouteOption changes one request's tutti.v1.RouteOptions.
type RouteOption func(*tuttiv1.RouteOptions)

// WithMaxCost caps this request's cost, in USD, below the composition's own cap.
func WithMaxCost(usd float64) RouteOption {
	return func(o *tuttiv1.RouteOptions) { o.MaxCostUsd = usd }
}

// WithoutCache skips the router's stage result cache for this request.
func WithoutCache() RouteOption {
	return func(o *tuttiv1.RouteOptions) { o.NoCache = true }
}

func routeOptions(opts []RouteOption) *tuttiv1.RouteOptions {
	if len(opts) == 0 {
		return nil
	}
	options := &tuttiv1.RouteOptions{}
	for _, opt := range opts {
		opt(options)
	}
	return options
}

// Answer is a composition's output and the record of what ran.
type Answer struct {
	Composition *Composition
	// Output is a message of the type the output's URL names (the
	// composition's output type).
	Output    *dynamicpb.Message
	Execution *tuttiv1.Execution
	// Response is the router's answer as it came, Any and all.
	Response *tuttiv1.RouteResponse
}

// Unpack reads the output into a generated message of its type.
func (a *Answer) Unpack(message proto.Message) error {
	return a.Response.GetOutput().UnmarshalTo(message)
}

// OutputJSON is the output as protojson writes it, with the proto field names.
func (a *Answer) OutputJSON() ([]byte, error) {
	return protojson.MarshalOptions{
		Resolver:        a.Composition.Types(),
		UseProtoNames:   true,
		EmitUnpopulated: true,
	}.Marshal(a.Output)
}

// Route runs one input through a composition. The input is JSON text (a
// string, []byte or json.RawMessage), a map or struct (encoded as JSON), or a
// proto.Message of the composition's input type.
func (c *Client) Route(ctx context.Context, composition string, input interface{}, opts ...RouteOption) (*Answer, error) {
	known, request, err := c.request(ctx, composition, input, opts)
	if err != nil {
		return nil, err
	}
	response, err := c.router.Route(ctx, request)
	if err != nil {
		return nil, asError(err)
	}
	return known.answer(response)
}

// request is what Route and RouteCompletion send: the composition by name,
// the input packed into its type, and the options. An input that does not fit
// is refused here, before anything is sent.
func (c *Client) request(ctx context.Context, name string, input interface{}, opts []RouteOption) (*Composition, *tuttiv1.RouteRequest, error) {
	known, err := c.Composition(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	packed, err := known.pack(input)
	if err != nil {
		return nil, nil, err
	}
	return known, &tuttiv1.RouteRequest{Composition: name, Input: packed, Options: routeOptions(opts)}, nil
}

func (c *Composition) answer(response *tuttiv1.RouteResponse) (*Answer, error) {
	output, err := c.unpack(response.GetOutput())
	if err != nil {
		return nil, err
	}
	return &Answer{Composition: c, Output: output, Execution: response.GetExecution(), Response: response}, nil
}
