/** `show_configurations`: Slurm parses and discards it; no etcd needed. */
export async function showConfigurationsCommand(): Promise<string> {
  return '{"configurations": []}';
}
