package rulesbench

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// groupOrder returns the group names of a rule file in file order.
func groupOrder(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Name string `yaml:"name"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make([]string, len(f.Groups))
	for i, g := range f.Groups {
		names[i] = g.Name
	}
	return names, nil
}
