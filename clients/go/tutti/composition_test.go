package tutti

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"

	tuttiv1 "tutti.dev/go/tutti/v1"
)

// classification is a ListCompositions entry whose set holds payloads.proto
// alone: its imports (buf/validate, google/protobuf) come from what links.
func classification(t *testing.T) *Composition {
	t.Helper()
	file := protodesc.ToFileDescriptorProto(tuttiv1.File_tutti_v1_payloads_proto)
	composition, err := newComposition(&tuttiv1.CompositionInfo{
		Name:        "triage",
		InputType:   "tutti.v1.Text",
		OutputType:  "tutti.v1.Classification",
		Descriptors: &descriptorpb.FileDescriptorSet{File: []*descriptorpb.FileDescriptorProto{file}},
	})
	if err != nil {
		t.Fatalf("the composition does not build: %v", err)
	}
	return composition
}

func TestJSONInputPacksAsTheInputType(t *testing.T) {
	packed, err := classification(t).pack(`{"text": "I forgot my password"}`)
	if err != nil {
		t.Fatal(err)
	}
	var text tuttiv1.Text
	if err := packed.UnmarshalTo(&text); err != nil {
		t.Fatalf("packed %q: %v", packed.GetTypeUrl(), err)
	}
	if text.GetText() != "I forgot my password" {
		t.Fatalf("packed %q", text.GetText())
	}
}

func TestAMapPacksLikeItsJSON(t *testing.T) {
	packed, err := classification(t).pack(map[string]interface{}{"text": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var text tuttiv1.Text
	if err := packed.UnmarshalTo(&text); err != nil || text.GetText() != "hi" {
		t.Fatalf("packed %v (%v)", &text, err)
	}
}

func TestTheOutputUnpacksAsADynamicMessage(t *testing.T) {
	composition := classification(t)
	output, err := anypb.New(&tuttiv1.Classification{Label: "account", Confidence: 0.9, Scores: map[string]float64{"account": 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	message, err := composition.unpack(output)
	if err != nil {
		t.Fatal(err)
	}
	fields := message.Descriptor().Fields()
	if got := message.Get(fields.ByName("label")).String(); got != "account" {
		t.Fatalf("label %q", got)
	}
	if got := message.Get(fields.ByName("scores")).Map().Len(); got != 1 {
		t.Fatalf("%d scores", got)
	}
	// The dynamic message is the same bytes a generated one reads.
	var typed tuttiv1.Classification
	encoded, _ := proto.Marshal(message)
	if err := proto.Unmarshal(encoded, &typed); err != nil || typed.GetConfidence() != 0.9 {
		t.Fatalf("read back %v (%v)", &typed, err)
	}
}

func TestAnInputThatDoesNotFitIsInvalidArgument(t *testing.T) {
	for name, input := range map[string]interface{}{
		"unknown field": `{"label": "x"}`,
		"not JSON":      `{`,
		"other type":    &tuttiv1.Classification{},
	} {
		_, err := classification(t).pack(input)
		var typed *Error
		if !errors.As(err, &typed) || status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestAnOutputTheDescriptorsDoNotDescribeIsInternal(t *testing.T) {
	_, err := classification(t).unpack(&anypb.Any{TypeUrl: "type.googleapis.com/acme.v1.Unknown"})
	if status.Code(err) != codes.Internal {
		t.Fatalf("%v", err)
	}
}

func TestCodeNamesAreCanonical(t *testing.T) {
	err := &Error{status: status.New(codes.NotFound, "no composition")}
	if err.Error() != "NOT_FOUND: no composition" {
		t.Fatalf("%q", err.Error())
	}
}
