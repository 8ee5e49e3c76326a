import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// This benchmark binary run again as a child with `arguments`, its standard output read
/// line by line (the fan-out benchmark's server talks to its clients' process this way).
final class ChildProcess {
    private let process = Process()
    private let output = Pipe()
    private var buffered: [UInt8] = []

    /// Starts the child.
    init(arguments: [String]) throws {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { throw BenchmarkFailure("cannot find the benchmark's executable") }
        process.executableURL = URL(fileURLWithPath: String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        process.arguments = arguments
        process.standardOutput = output
        try process.run()
    }

    /// The next line the child wrote, or nil when it closed its output.
    func readLine() -> String? {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { return nil }
            buffered.append(contentsOf: data)
        }
    }

    /// Waits for the child to exit; its status.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}
