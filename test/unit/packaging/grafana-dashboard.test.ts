/**
 * The Grafana dashboard in packaging/grafana/ queries only metrics that exist: every `dac_*`
 * name in its expressions is one docs/metrics.md lists (the exporter's and `dacctl metrics`'
 * tests hold those to what is served), and each panel reads the Prometheus data source chosen
 * on the dashboard.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: { expr: string; datasource: { uid: string } }[];
}

const dashboard = JSON.parse(
  readFileSync(join(ROOT, 'packaging', 'grafana', 'dac-dashboard.json'), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } };
const documented = new Set(
  [...readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8').matchAll(/^\| `(dac_[a-z_]+)`/gm)].map(
    (match) => match[1],
  ),
);

it('documents the metrics the dashboard needs', () => {
  expect(documented.size).toBeGreaterThanOrEqual(18);
  expect(documented).toContain('dac_pool_bytes');
  expect(documented).toContain('dac_step_duration_seconds');
});

it('queries only documented metrics, from the chosen data source', () => {
  expect(dashboard.templating.list).toContainEqual(
    expect.objectContaining({ name: 'datasource', type: 'datasource' }),
  );
  expect(dashboard.panels.length).toBeGreaterThan(0);
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    expect({ panel: panel.title, uid: panel.datasource.uid }).toEqual({
      panel: panel.title,
      uid: '${datasource}',
    });
    expect(panel.targets.length).toBeGreaterThan(0);
    for (const target of panel.targets) {
      expect(target.datasource.uid).toBe('${datasource}');
      for (const [name] of target.expr.matchAll(/\bdac_[a-z_]+/g)) {
        used.add(name.replace(/_(bucket|count|sum)$/, ''));
      }
    }
  }
  expect([...used].filter((name) => !documented.has(name))).toEqual([]);
  // Something of both sources: the whole system's and the hosts'.
  expect(used).toContain('dac_pool_bytes');
  expect(used).toContain('dac_steps_total');
});
