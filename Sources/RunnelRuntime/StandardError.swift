#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error (runtime notices such as an aborted checkpoint), where
/// it does not mix with results a job may write to standard output.
func printToStandardError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = write(2, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            done += n
        }
    }
}
