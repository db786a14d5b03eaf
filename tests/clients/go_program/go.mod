module acme.example/ticketdesk

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
	tutti.dev/go v0.0.0
)

replace tutti.dev/go => ../../../clients/go
