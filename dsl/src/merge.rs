//! How sections combine: a variant's sections over the spec's, named experiments over the
//! unnamed one, a `scale` over its experiment (settings replace settings with the same key,
//! sections merge by kind and name, a mask's `pattern`s replace them all). The checker
//! ([`crate::sections`]) validates what these produce.

use crate::ast::{Entry, Section, Spec};

/// The spec as variant `name` sees it: each section nested in the variant (except `blocks`)
/// overrides the spec's section of the same kind and name — its settings replace settings with
/// the same key, its nested sections merge the same way (a mask's `pattern`s replace them all),
/// and sections the spec lacks are added. A spec without that variant is returned unchanged
/// (elaboration reports the unknown name).
pub fn apply_variant(spec: &Spec, name: &str) -> Spec {
    let mut out = spec.clone();
    let variant =
        spec.sections.iter().find(|s| s.kind.name == "variant" && s.name.as_ref().is_some_and(|n| n.name == name));
    if let Some(v) = variant {
        for e in &v.entries {
            if let Entry::Section(over) = e {
                if over.kind.name != "blocks" {
                    merge_into(&mut out.sections, over);
                }
            }
        }
    }
    out
}

/// The runs a spec declares: each named experiment merged onto the unnamed one (its settings
/// replace the unnamed one's, its sections merge as in [`apply_variant`]), or the unnamed one
/// alone as `default` when no experiment is named. Empty when the spec has no experiment.
pub(crate) fn experiments(spec: &Spec) -> Vec<(String, Section)> {
    let all: Vec<&Section> = spec.sections.iter().filter(|s| s.kind.name == "experiment").collect();
    let base = all.iter().find(|s| s.name.is_none());
    let named: Vec<&&Section> = all.iter().filter(|s| s.name.is_some()).collect();
    if named.is_empty() {
        return base.map(|b| vec![("default".to_string(), (*b).clone())]).unwrap_or_default();
    }
    named
        .into_iter()
        .map(|n| {
            let name = n.name.as_ref().map(|i| i.name.clone()).unwrap_or_default();
            let mut merged = match base {
                Some(b) => {
                    let mut m = (*b).clone();
                    m.name = n.name.clone();
                    merge(&mut m, n);
                    m
                }
                None => (*n).clone(),
            };
            merged.name = n.name.clone();
            (name, merged)
        })
        .collect()
}

/// An experiment at a scale: the settings and sections of its `scale NAME { ... }` merged onto
/// it, and every `scale` section removed. `None` when the experiment has no such scale.
pub(crate) fn apply_scale(experiment: &Section, scale: &str) -> Option<Section> {
    let over = experiment.entries.iter().find_map(|e| match e {
        Entry::Section(s) if s.kind.name == "scale" && s.name.as_ref().is_some_and(|n| n.name == scale) => Some(s),
        _ => None,
    });
    let mut out = experiment.clone();
    out.entries.retain(|e| !matches!(e, Entry::Section(s) if s.kind.name == "scale"));
    merge(&mut out, over?);
    Some(out)
}

/// The scales an experiment declares (`scale NAME { ... }`), in order.
pub(crate) fn scales(experiment: &Section) -> Vec<String> {
    experiment
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Section(s) if s.kind.name == "scale" => s.name.as_ref().map(|n| n.name.clone()),
            _ => None,
        })
        .collect()
}

fn same(a: &Section, b: &Section) -> bool {
    a.kind.name == b.kind.name && a.name.as_ref().map(|n| &n.name) == b.name.as_ref().map(|n| &n.name)
}

fn merge_into(list: &mut Vec<Section>, over: &Section) {
    match list.iter_mut().find(|s| same(s, over)) {
        Some(target) => merge(target, over),
        None => list.push(over.clone()),
    }
}

/// Merges `over` onto `target`: settings replace settings with the same key, sections merge
/// with the same kind and name (a mask's `pattern`s replace them all), others are added.
pub(crate) fn merge(target: &mut Section, over: &Section) {
    if over.entries.iter().any(|e| matches!(e, Entry::Section(s) if s.kind.name == "pattern")) {
        target.entries.retain(|e| !matches!(e, Entry::Section(s) if s.kind.name == "pattern"));
    }
    for e in &over.entries {
        match e {
            Entry::Setting { key, .. } => {
                match target.entries.iter_mut().find(|t| matches!(t, Entry::Setting { key: k, .. } if k == key)) {
                    Some(slot) => *slot = e.clone(),
                    None => target.entries.push(e.clone()),
                }
            }
            Entry::Section(s) if s.kind.name == "pattern" => target.entries.push(e.clone()),
            Entry::Section(s) => {
                let slot = target.entries.iter_mut().find_map(|t| match t {
                    Entry::Section(c) if same(c, s) => Some(c),
                    _ => None,
                });
                match slot {
                    Some(c) => merge(c, s),
                    None => target.entries.push(e.clone()),
                }
            }
        }
    }
}

/// A section as text that ignores spans, names and order: settings as `key = value` and nested
/// sections, each level sorted (`scales`, which only selects where a run exists, left out). Two
/// experiments with the same canonical text train the same run.
pub(crate) fn canonical(s: &Section) -> String {
    let mut parts: Vec<String> = s
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Setting { key, .. } if key == "scales" => None,
            Entry::Setting { key, value, .. } => Some(format!("{key} = {}", crate::fmt::render(value))),
            Entry::Section(c) => {
                let name = c.name.as_ref().map(|n| format!(" {}", n.name)).unwrap_or_default();
                Some(format!("{}{name} {{ {} }}", c.kind.name, canonical(c)))
            }
        })
        .collect();
    parts.sort();
    parts.join("; ")
}
