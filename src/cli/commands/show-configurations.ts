/** `show_configurations`: Slurm parses and discards it; no etcd needed. */
export function showConfigurationsCommand(): string {
  return '{"configurations": []}';
}
