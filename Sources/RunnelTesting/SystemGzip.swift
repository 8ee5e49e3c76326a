import Foundation

/// Compresses with the system's `/bin/gzip`: an independent implementation to check
/// Runnel's gzip handling against.
public enum SystemGzip {
    /// `bytes` as `gzip -c` writes them.
    public static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Written from another thread: gzip's output must be read while it is fed, or both
        // pipes fill up and the two processes wait for each other.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}
