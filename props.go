package aegir

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// MarshalProps encodes the properties of a server, platform or site (a
// pointer to the struct) as a JSON object keyed by the context property
// names, every property present.
func MarshalProps(props any) ([]byte, error) {
	v, err := propsValue(props)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v.Convert(propsJSONType(v.Type())).Interface())
}

// UnmarshalProps decodes a JSON object made by MarshalProps (or written by
// a user with the same names) into props, a pointer to the struct. An
// unknown property is an EINVALID error.
func UnmarshalProps(data []byte, props any) error {
	v, err := propsValue(props)
	if err != nil {
		return err
	}
	p := reflect.New(propsJSONType(v.Type()))
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p.Interface()); err != nil {
		return Errorf(EINVALID, "properties: %v", err)
	}
	v.Set(p.Elem().Convert(v.Type()))
	return nil
}

func propsValue(props any) (reflect.Value, error) {
	v := reflect.ValueOf(props)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("props: %T is not a pointer to a struct", props)
	}
	return v.Elem(), nil
}

// propsJSONType is t with json tags naming each field as its yaml tag
// does; a value converts between the two types since only tags differ.
func propsJSONType(t reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[i] = reflect.StructField{Name: f.Name, Type: f.Type, Tag: reflect.StructTag(`json:"` + name + `"`)}
	}
	return reflect.StructOf(fields)
}
