package program

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// scalar keeps a number or string exactly as written, so that amounts are
// never rounded through a float; it is parsed later with the field's path.
type scalar struct {
	Text string
	Set  bool
}

func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = scalar{}
	case len(b) > 0 && b[0] == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = scalar{Text: str, Set: true}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = scalar{Text: string(b), Set: true}
	default:
		return fmt.Errorf("want a number or a string, got %s", b)
	}
	return nil
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a string", n.Line)
	}
	if n.Tag == "!!null" {
		*s = scalar{}
		return nil
	}
	*s = scalar{Text: n.Value, Set: true}
	return nil
}
