package aegir

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Property describes one settable property of a context type.
type Property struct {
	Name     string
	Kind     reflect.Kind // String, Int, Bool or Slice (of strings)
	Internal bool         // set by tasks, refused by save
	Secret   bool         // masked by show
}

// Properties lists the properties of a context type in declaration order.
func Properties(typ ContextType) []Property {
	c, err := NewContext("x", typ)
	if err != nil {
		return nil
	}
	t := reflect.TypeOf(c.Props()).Elem()
	props := make([]Property, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tags := strings.Split(f.Tag.Get("aegir"), ",")
		props = append(props, Property{
			Name:     yamlName(f),
			Kind:     f.Type.Kind(),
			Internal: slices.Contains(tags, "internal"),
			Secret:   slices.Contains(tags, "secret"),
		})
	}
	return props
}

// PropertyName turns a property as typed on a command line (dashes or
// underscores) into its canonical underscore form.
func PropertyName(s string) string {
	return strings.ReplaceAll(s, "-", "_")
}

// SetProperty sets one property of c from its command-line string form.
// The value "null" resets the property to its default, except for the
// service types, where it names the null service.
func (c *Context) SetProperty(name, value string) error {
	name = PropertyName(name)
	if custom, ok := strings.CutPrefix(name, CustomPrefix); ok {
		return c.setCustom(custom, value)
	}
	v := reflect.ValueOf(c.Props()).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if yamlName(f) != name {
			continue
		}
		if strings.Contains(f.Tag.Get("aegir"), "internal") {
			return FieldErrorf(name, "is set by tasks and cannot be saved by hand")
		}
		field := v.Field(i)
		if field.Kind() == reflect.Map {
			return FieldErrorf(name, "takes one property at a time: %sNAME=value", CustomPrefix)
		}
		// For the service types "null" is a value: the service that does
		// nothing, as in Aegir.
		if value == "null" && !strings.HasSuffix(name, "_service_type") {
			field.Set(reflect.Zero(f.Type))
			return nil
		}
		return setField(name, field, value)
	}
	return FieldErrorf(name, "is not a property of a %s context", c.Type)
}

func setField(name string, field reflect.Value, value string) error {
	switch field.Kind() {
	case reflect.String:
		value = strings.TrimSpace(value)
		switch name {
		case "platform", "web_server", "db_server":
			value = "@" + ContextName(value)
			if err := ValidateName(name, ContextName(value)); err != nil {
				return err
			}
		case "root", "http_conf_link", "php_fpm_socket":
			if !filepath.IsAbs(value) {
				return FieldErrorf(name, "%q must be an absolute path", value)
			}
			value = filepath.Clean(value)
		}
		field.SetString(value)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return FieldErrorf(name, "%q is not a whole number", value)
		}
		field.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return FieldErrorf(name, "%q is not a boolean (true/false, 1/0)", value)
		}
		field.SetBool(b)
	case reflect.Slice:
		list, err := parseList(name, value)
		if err != nil {
			return err
		}
		field.Set(reflect.ValueOf(list))
	default:
		return FieldErrorf(name, "has an unsupported type")
	}
	return nil
}

// parseList reads a JSON array, or else a list split on commas (aliases) or
// on white space (command vectors).
func parseList(name, value string) ([]string, error) {
	value = strings.TrimSpace(value)
	var list []string
	if strings.HasPrefix(value, "[") {
		if err := json.Unmarshal([]byte(value), &list); err != nil {
			return nil, FieldErrorf(name, "is not a JSON list of strings: %v", err)
		}
		return list, nil
	}
	if strings.HasSuffix(name, "_cmd") {
		return strings.Fields(value), nil
	}
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" && !slices.Contains(list, item) {
			list = append(list, item)
		}
	}
	return list, nil
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// SetProperties returns the properties of c that are set, by name, safe
// to show: a secret one (db_passwd) reads as masked, or is left out when
// masked is empty, and master_db has its password masked.
func (c *Context) SetProperties(masked string) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c.Props()).Elem()
	for i, p := range Properties(c.Type) {
		f := v.Field(i)
		switch {
		case f.IsZero():
		case p.Secret && masked == "":
		case p.Secret:
			out[p.Name] = masked
		default:
			out[p.Name] = f.Interface()
		}
	}
	if c.Type == ServerContext && c.Server.MasterDB != "" {
		delete(out, "master_db")
		if db, err := ParseMasterDB(c.Server.MasterDB); err == nil {
			out["master_db"] = db.String()
		}
	}
	return out
}
