import RunnelJSON

/// What `checkpoints list` and `checkpoints describe` print, for operators of a job.
public enum CheckpointCatalog {
    /// One line per complete checkpoint in `store` (oldest first): id, kind, time, size, the
    /// checkpoints it builds on (incremental), and whether it passes its checks.
    public static func list(_ store: CheckpointStore) throws(CheckpointIOError) -> [String] {
        var lines: [String] = []
        var loaded: [String: Result<RestoredCheckpoint, CheckpointLoadError>] = [:]
        for id in try store.completedIDs() {
            let path = store.path(of: id)
            do {
                // Checked, not kept: a listing holds manifests only.
                let checkpoint = try CheckpointStore.load(path, keepPayloads: false, loaded: &loaded)
                let m = checkpoint.manifest
                let builds = m.dependsOn.isEmpty ? "" : "  incremental on chk-\(m.dependsOn.map(String.init).joined(separator: ",chk-"))"
                lines.append("\(path)  id \(m.id)  \(m.kind == .savepoint ? "savepoint" : "checkpoint")  "
                             + "\(ISO8601Timestamp.string(millis: m.createdAtMillis))  \(m.totalSize) bytes  "
                             + "p=\(m.parallelism)\(builds)  ok")
            } catch {
                lines.append("\(path)  id \(id)  CORRUPT: \(error)")
            }
        }
        return lines
    }

    /// A JSON description of a checkpoint: id, kind, time, size, the checkpoints it builds on
    /// and what a restore reads, parallelism, files, and each state entry (step, subtask,
    /// key groups, file, summary such as a source offset).
    public static func describe(_ checkpoint: RestoredCheckpoint) -> String {
        let m = checkpoint.manifest
        var json = JSONWriter()
        json.beginObject()
        json.key("path"); json.string(checkpoint.path)
        json.key("id"); json.int(m.id)
        json.key("kind"); json.string(m.kind == .savepoint ? "savepoint" : "checkpoint")
        json.key("created"); json.timestamp(millis: m.createdAtMillis)
        json.key("job"); json.string(m.jobName)
        json.key("parallelism"); json.int(m.parallelism)
        json.key("max_parallelism"); json.int(m.maxParallelism)
        json.key("size_bytes"); json.int(m.totalSize)
        // Incremental: the earlier checkpoints whose files a restore also reads.
        json.key("depends_on")
        json.beginArray()
        for id in m.dependsOn { json.int(id) }
        json.endArray()
        json.key("restore_size_bytes"); json.int(checkpoint.restoreSize)
        json.key("files")
        json.beginArray()
        for file in m.files {
            json.beginObject()
            json.key("name"); json.string(file.name)
            json.key("size_bytes"); json.int(file.size)
            json.key("xxh3"); json.string(String(file.checksum, radix: 16))
            json.endObject()
        }
        json.endArray()
        json.key("states")
        json.beginArray()
        for state in m.states {
            json.beginObject()
            json.key("step"); json.string(state.step)
            json.key("subtask"); json.int(state.subtask)
            json.key("file"); json.string(state.file)
            if !state.keyGroups.isEmpty {
                json.key("key_groups")
                json.beginArray()
                json.int(state.keyGroups.lowerBound)
                json.int(state.keyGroups.upperBound - 1)
                json.endArray()
            }
            if !state.summary.isEmpty { json.key("summary"); json.string(state.summary) }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }
}
