package config

import "go.yaml.in/yaml/v3"

// Presence holds the admin-defined presence rules.
type Presence struct {
	rules *yaml.Node
}

func (d *decoder) presence(p *Presence, m *mapNode) {
	if m == nil {
		return
	}
	p.rules = m.get("rules")
}
