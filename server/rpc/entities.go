package rpc

import (
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// entityFields maps feed entity names to the field of Entity that types
// them: the field names are the entity names.
var entityFields = (&syncv1.Entity{}).ProtoReflect().Descriptor().Fields()

var lenient = protojson.UnmarshalOptions{DiscardUnknown: true}

// typed decodes an entity's JSON form into its typed message. It reports
// false for entities Entity does not name, or JSON that does not fit (the
// caller then keeps the JSON).
func typed(entity string, data []byte) (*syncv1.Entity, bool) {
	fd := entityFields.ByName(protoreflect.Name(entity))
	if fd == nil || fd.Message() == nil || len(data) == 0 {
		return nil, false
	}
	e := &syncv1.Entity{}
	m := e.ProtoReflect().NewField(fd).Message()
	if err := lenient.Unmarshal(data, m.Interface()); err != nil {
		return nil, false
	}
	e.ProtoReflect().Set(fd, protoreflect.ValueOfMessage(m))
	return e, true
}
