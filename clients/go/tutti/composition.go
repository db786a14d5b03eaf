package tutti

import (
	"encoding/json"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	tuttiv1 "tutti.dev/go/tutti/v1"
)

// Composition is one composition a router serves, with its input and output
// types built from the descriptors the router sent.
type Composition struct {
	// Info is what ListCompositions answered for it.
	Info   *tuttiv1.CompositionInfo
	Input  protoreflect.MessageDescriptor
	Output protoreflect.MessageDescriptor
	files  *protoregistry.Files
	types  *protoregistry.Types
}

// Name is the composition's name, as Route takes it.
func (c *Composition) Name() string { return c.Info.GetName() }

// NewInput is an empty message of the composition's input type.
func (c *Composition) NewInput() *dynamicpb.Message { return dynamicpb.NewMessage(c.Input) }

// Types resolves every message type the descriptors carry, as protojson's
// Resolver (for google.protobuf.Any fields inside a composition's types).
func (c *Composition) Types() *protoregistry.Types { return c.types }

// newComposition builds the types of one ListCompositions entry.
func newComposition(info *tuttiv1.CompositionInfo) (*Composition, error) {
	files, err := buildFiles(info.GetDescriptors())
	if err != nil {
		return nil, errorf(codes.Internal, "composition %q: its descriptors do not build: %v",
			info.GetName(), err)
	}
	c := &Composition{Info: info, files: files, types: new(protoregistry.Types)}
	var registerErr error
	files.RangeFiles(func(file protoreflect.FileDescriptor) bool {
		registerErr = registerMessages(c.types, file.Messages())
		return registerErr == nil
	})
	if registerErr != nil {
		return nil, errorf(codes.Internal, "composition %q: %v", info.GetName(), registerErr)
	}
	if c.Input, err = c.message(info.GetInputType()); err != nil {
		return nil, err
	}
	if c.Output, err = c.message(info.GetOutputType()); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Composition) message(name string) (protoreflect.MessageDescriptor, error) {
	found, err := c.files.FindDescriptorByName(protoreflect.FullName(name))
	if err == nil {
		if message, ok := found.(protoreflect.MessageDescriptor); ok {
			return message, nil
		}
	}
	return nil, errorf(codes.Internal, "composition %q: its descriptors do not describe %s",
		c.Name(), name)
}

// buildFiles registers a FileDescriptorSet's files, each after those it
// imports; an import the set leaves out (a well-known type) is looked up in
// what this program links.
func buildFiles(set *descriptorpb.FileDescriptorSet) (*protoregistry.Files, error) {
	files := new(protoregistry.Files)
	byPath := map[string]*descriptorpb.FileDescriptorProto{}
	for _, file := range set.GetFile() {
		byPath[file.GetName()] = file
	}
	resolver := linkedFallback{files}
	var build func(path string) error
	build = func(path string) error {
		file, inSet := byPath[path]
		if _, err := files.FindFileByPath(path); err == nil || !inSet {
			return nil
		}
		delete(byPath, path) // an import cycle ends here; protodesc reports it
		for _, dependency := range file.GetDependency() {
			if err := build(dependency); err != nil {
				return err
			}
		}
		built, err := protodesc.NewFile(file, resolver)
		if err != nil {
			return err
		}
		return files.RegisterFile(built)
	}
	for _, file := range set.GetFile() {
		if err := build(file.GetName()); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// linkedFallback resolves in the set first, then in the program's own registry.
type linkedFallback struct{ set *protoregistry.Files }

func (r linkedFallback) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if file, err := r.set.FindFileByPath(path); err == nil {
		return file, nil
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (r linkedFallback) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if found, err := r.set.FindDescriptorByName(name); err == nil {
		return found, nil
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}

func registerMessages(types *protoregistry.Types, messages protoreflect.MessageDescriptors) error {
	for i := 0; i < messages.Len(); i++ {
		message := messages.Get(i)
		if message.IsMapEntry() {
			continue
		}
		if err := types.RegisterMessage(dynamicpb.NewMessageType(message)); err != nil {
			return err
		}
		if err := registerMessages(types, message.Messages()); err != nil {
			return err
		}
	}
	return nil
}

// pack turns a Route input into the Any the router takes: JSON text (string,
// []byte, json.RawMessage), a map (as JSON), or a message of the input type.
func (c *Composition) pack(input interface{}) (*anypb.Any, error) {
	var text []byte
	switch value := input.(type) {
	case proto.Message:
		got := value.ProtoReflect().Descriptor().FullName()
		if got != c.Input.FullName() {
			return nil, errorf(codes.InvalidArgument, "composition %q takes %s, not %s",
				c.Name(), c.Input.FullName(), got)
		}
		return anypb.New(value)
	case string:
		text = []byte(value)
	case []byte:
		text = value
	case json.RawMessage:
		text = value
	default:
		encoded, err := json.Marshal(value)
		if err != nil {
			return nil, errorf(codes.InvalidArgument, "the input is not JSON: %v", err)
		}
		text = encoded
	}
	message := c.NewInput()
	if err := (protojson.UnmarshalOptions{Resolver: c.types}).Unmarshal(text, message); err != nil {
		return nil, errorf(codes.InvalidArgument, "the input does not fit %s: %v", c.Input.FullName(), err)
	}
	return anypb.New(message)
}

// unpack reads the router's output with the type its URL names.
func (c *Composition) unpack(output *anypb.Any) (*dynamicpb.Message, error) {
	url := output.GetTypeUrl()
	name := protoreflect.FullName(url[strings.LastIndex(url, "/")+1:])
	kind, err := c.types.FindMessageByName(name)
	if err != nil {
		return nil, errorf(codes.Internal, "composition %q answered %q, which its descriptors do not describe",
			c.Name(), url)
	}
	message := dynamicpb.NewMessage(kind.Descriptor())
	if err := proto.Unmarshal(output.GetValue(), message); err != nil {
		return nil, errorf(codes.Internal, "composition %q answered a %s that does not parse: %v",
			c.Name(), name, err)
	}
	return message, nil
}
