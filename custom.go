package aegir

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Custom holds the custom properties of a server, platform or site, by
// name: values a third party adds to a context (Aegir's "Extending
// Aegir"), which reach the vhost as AEGIR_CUSTOM_<NAME> parameters and
// the app's settings as $aegir_custom['<name>'].
type Custom map[string]string

// CustomPrefix starts a custom property's name on a command line
// (--custom.NAME=value) and in the property form of the API.
const CustomPrefix = "custom."

// The settings files of the user's own that a site's settings include,
// as Aegir names them: GlobalSettings in config/includes for every site
// of the machine, PlatformSettings in the platform's sites/all/.
const (
	GlobalSettings   = "global.inc"
	PlatformSettings = "platform.settings.php"
)

// Limits of custom properties: they travel in every vhost and settings
// file, so they stay small.
const (
	MaxCustom           = 32
	MaxCustomValue      = 1024
	customParamPrefix   = "AEGIR_CUSTOM_"
	customPropertyField = "custom"
)

var (
	// customNamePattern is what a custom property's name may be: it
	// becomes part of a FastCGI parameter or environment variable name
	// (upper-cased) and a PHP array key, so it is a plain identifier.
	customNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	// customValuePattern is what a custom value may hold: printable ASCII
	// that is inert inside a double-quoted nginx fastcgi_param and Apache
	// SetEnv: no whitespace, quotes, backslash, '$' (variables of both),
	// ';', braces or backquote. The PHP settings quote it anyway.
	customValuePattern = regexp.MustCompile(`^[A-Za-z0-9!#%&()*+,\-./:<=>?@\[\]^_|~]*$`)
)

// ValidateCustomName reports a custom property name that is not a
// lowercase identifier of at most 48 characters.
func ValidateCustomName(name string) error {
	if !customNamePattern.MatchString(name) {
		return FieldErrorf(CustomPrefix+name, "the name of a custom property must be a lowercase letter then lowercase letters, digits or '_', at most 48 of them")
	}
	return nil
}

// ValidateCustomValue reports a custom value that is too long or holds a
// character a web server's configuration would read as syntax.
func ValidateCustomValue(name, value string) error {
	if len(value) > MaxCustomValue {
		return FieldErrorf(CustomPrefix+name, "is %d bytes long; at most %d are allowed", len(value), MaxCustomValue)
	}
	if !customValuePattern.MatchString(value) {
		return FieldErrorf(CustomPrefix+name, "may hold only printable ASCII characters other than spaces, quotes, backslash, '$', ';', '`' and braces")
	}
	return nil
}

// Validate reports the first invalid custom property, in name order.
func (c Custom) Validate() error {
	if len(c) > MaxCustom {
		return FieldErrorf(customPropertyField, "has %d properties; at most %d are allowed", len(c), MaxCustom)
	}
	for _, name := range slices.Sorted(maps.Keys(c)) {
		if err := ValidateCustomName(name); err != nil {
			return err
		}
		if err := ValidateCustomValue(name, c[name]); err != nil {
			return err
		}
	}
	return nil
}

// CustomOf returns the custom properties of c, nil when it has none.
func (c *Context) CustomOf() Custom {
	switch {
	case c.Server != nil:
		return c.Server.Custom
	case c.Platform != nil:
		return c.Platform.Custom
	case c.Site != nil:
		return c.Site.Custom
	}
	return nil
}

// customField returns where c keeps its custom properties.
func (c *Context) customField() *Custom {
	switch {
	case c.Server != nil:
		return &c.Server.Custom
	case c.Platform != nil:
		return &c.Platform.Custom
	case c.Site != nil:
		return &c.Site.Custom
	}
	return nil
}

// setCustom sets the custom property name to value; an empty value (or
// "null", as for every property) removes it.
func (c *Context) setCustom(name, value string) error {
	if err := ValidateCustomName(name); err != nil {
		return err
	}
	field := c.customField()
	if field == nil {
		return FieldErrorf(CustomPrefix+name, "is not a property of a %s context", c.Type)
	}
	if value == "" || value == "null" {
		delete(*field, name)
		if len(*field) == 0 {
			*field = nil
		}
		return nil
	}
	if err := ValidateCustomValue(name, value); err != nil {
		return err
	}
	if *field == nil {
		*field = Custom{}
	}
	(*field)[name] = value
	if len(*field) > MaxCustom {
		return FieldErrorf(customPropertyField, "has %d properties; at most %d are allowed", len(*field), MaxCustom)
	}
	return nil
}

// MergeCustom merges the custom properties of a site's server, platform
// and site, in that order, so the most specific one wins.
func MergeCustom(levels ...Custom) Custom {
	var out Custom
	for _, l := range levels {
		for k, v := range l {
			if out == nil {
				out = Custom{}
			}
			out[k] = v
		}
	}
	return out
}

// Params returns the custom properties as the parameters the web server
// passes to PHP, AEGIR_CUSTOM_<NAME>, in name order.
func (c Custom) Params() []Param {
	out := make([]Param, 0, len(c))
	for _, name := range slices.Sorted(maps.Keys(c)) {
		out = append(out, Param{Name: customParamPrefix + strings.ToUpper(name), Value: c[name]})
	}
	return out
}
