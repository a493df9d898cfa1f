// Engine API container stats, as in moby's api/types/container StatsResponse (field names are
// the wire names). Counters are u64 in dockerd and several exceed 2^53, so they are bigints here;
// the daemon's encodeStats writes them exactly.

export interface BlkioStatEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioStatEntry[] | null;
  io_serviced_recursive: BlkioStatEntry[] | null;
  io_queue_recursive: BlkioStatEntry[] | null;
  io_service_time_recursive: BlkioStatEntry[] | null;
  io_wait_time_recursive: BlkioStatEntry[] | null;
  io_merged_recursive: BlkioStatEntry[] | null;
  io_time_recursive: BlkioStatEntry[] | null;
  sectors_recursive: BlkioStatEntry[] | null;
}

export interface CPUStats {
  cpu_usage: {
    total_usage: bigint;
    /** v1 only (omitted when empty). */
    percpu_usage?: bigint[];
    usage_in_kernelmode: bigint;
    usage_in_usermode: bigint;
  };
  /** Omitted when 0. */
  system_cpu_usage?: bigint;
  online_cpus?: number;
  throttling_data: { periods: bigint; throttled_periods: bigint; throttled_time: bigint };
}

export interface MemoryStats {
  usage?: bigint;
  max_usage?: bigint;
  stats?: Record<string, bigint>;
  failcnt?: bigint;
  limit?: bigint;
}

export interface NetworkStats {
  rx_bytes: bigint;
  rx_packets: bigint;
  rx_errors: bigint;
  rx_dropped: bigint;
  tx_bytes: bigint;
  tx_packets: bigint;
  tx_errors: bigint;
  tx_dropped: bigint;
}

/** `GET /containers/{id}/stats` (container.StatsResponse). */
export interface Stats {
  name?: string;
  id?: string;
  read: string;
  preread: string;
  pids_stats: { current?: bigint; limit?: bigint };
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CPUStats;
  precpu_stats: CPUStats;
  memory_stats: MemoryStats;
  networks?: Record<string, NetworkStats>;
}
