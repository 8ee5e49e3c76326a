import RunnelCore
import RunnelPrometheus
import Testing

/// The `/metrics` page from a job's registry: one family per metric with its `# TYPE`
/// line, counters summed over subtasks and advancing between scrapes, watermark lag.
struct PrometheusJobMetricsTests {
    /// The page's families: name → (type, samples in order).
    static func families(_ page: String) -> [String: (type: String, samples: [String])] {
        var result: [String: (type: String, samples: [String])] = [:]
        var current = ""
        for line in page.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                current = String(parts[2])
                #expect(result[current] == nil, "one TYPE line per family: \(current)")
                result[current] = (String(parts[3]), [])
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(name == current, "a family's samples follow its TYPE line: \(line)")
                result[current]?.samples.append(line)
            }
        }
        return result
    }

    @Test("counters are summed over subtasks and advance between scrapes; gauges, watermark lag and job-wide scopes")
    func page() {
        let metrics = MetricsRegistry()
        let a = metrics.counter("records_in", operator: "dedup")
        let b = metrics.counter("records_in", operator: "dedup")
        a.increment(by: 5)
        b.increment(by: 7)
        metrics.counter("records_in", operator: #"odd "name""#).increment()
        metrics.counter("checkpoints_completed", operator: "checkpoints").increment(by: 3)
        _ = metrics.gauge("watermark_ms", operator: "dedup", initial: 90_000)
        _ = metrics.gauge("watermark_ms", operator: "dedup", initial: 95_000)
        _ = metrics.gauge("watermark_ms", operator: "window", initial: Watermark.initial)
        _ = metrics.gauge("watermark_ms", operator: "done", initial: Watermark.endOfTime)
        _ = metrics.gauge("input_queue_batches", operator: "dedup", initial: 2)
        _ = metrics.gauge("input_queue_batches", operator: "dedup", initial: 3)
        _ = metrics.gauge("max_input_queue_batches", operator: "dedup", initial: 4)
        _ = metrics.gauge("max_input_queue_batches", operator: "dedup", initial: 9)
        _ = metrics.gauge("allocator_resident_bytes", operator: "runtime", initial: 1 << 20)

        let exporter = PrometheusJobMetrics()
        exporter.setCounter("runnel_collector_events_accepted_total", total: 10)
        exporter.update(from: metrics, now: 100_000)
        var page = String(decoding: exporter.exposition(), as: UTF8.self)
        var families = Self.families(page)
        #expect(families["runnel_records_in_total"]?.type == "counter")
        #expect(families["runnel_records_in_total"]?.samples.contains(#"runnel_records_in_total{operator="dedup"} 12"#) == true, "\(page)")
        #expect(families["runnel_records_in_total"]?.samples.contains(#"runnel_records_in_total{operator="odd \"name\""} 1"#) == true,
                "label values are escaped: \(page)")
        #expect(families["runnel_checkpoints_completed_total"]?.samples == ["runnel_checkpoints_completed_total 3"], "job-wide: no label")
        #expect(families["runnel_watermark_lag_seconds"]?.type == "gauge")
        let lags = families["runnel_watermark_lag_seconds"]?.samples ?? []
        #expect(lags.contains(#"runnel_watermark_lag_seconds{operator="dedup"} 10.0"#), "the slowest subtask's watermark: \(lags)")
        #expect(lags.contains(#"runnel_watermark_lag_seconds{operator="done"} 0.0"#), "a finished input has no lag")
        #expect(!lags.contains { $0.contains("window") }, "no watermark yet: no lag")
        #expect(families["runnel_input_queue_batches"]?.samples == [#"runnel_input_queue_batches{operator="dedup"} 5.0"#], "depths add up")
        #expect(families["runnel_max_input_queue_batches"]?.samples == [#"runnel_max_input_queue_batches{operator="dedup"} 9.0"#])
        #expect(families["runnel_allocator_resident_bytes"]?.samples == ["runnel_allocator_resident_bytes 1048576.0"])
        #expect(families["runnel_collector_events_accepted_total"]?.samples == ["runnel_collector_events_accepted_total 10"])

        a.increment(by: 100)
        exporter.setCounter("runnel_collector_events_accepted_total", total: 15)
        exporter.update(from: metrics, now: 101_000)
        page = String(decoding: exporter.exposition(), as: UTF8.self)
        families = Self.families(page)
        #expect(families["runnel_records_in_total"]?.samples.contains(#"runnel_records_in_total{operator="dedup"} 112"#) == true, "\(page)")
        #expect(families["runnel_collector_events_accepted_total"]?.samples == ["runnel_collector_events_accepted_total 15"])
        #expect(families["runnel_watermark_lag_seconds"]?.samples.contains(#"runnel_watermark_lag_seconds{operator="dedup"} 11.0"#) == true)
    }
}
