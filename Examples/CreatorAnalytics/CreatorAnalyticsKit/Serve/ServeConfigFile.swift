import Foundation
import Yams

/// The optional configuration file of `creator-analytics serve` (YAML, read with Yams): the
/// command's options by their flag names, e.g.
///
/// ```yaml
/// port: 8080
/// host: 127.0.0.1
/// parallelism: 2
/// demo: true
/// demo-rate: 1000
/// dead-letter: .runnel/dead-letters.ndjson
/// ```
///
/// Flags win over environment variables (`RUNNEL_PORT`, `RUNNEL_HOST`, … — the flag name in
/// capitals with `_`), which win over the file, which wins over the defaults. An unknown key
/// is an error, so that a misspelt option is not silently ignored.
public struct ServeConfigFile: Sendable, Equatable {
    /// The keys the file may hold, with their types.
    public static let keys: [String: String] = [
        "port": "integer", "host": "string", "parallelism": "integer", "auth-secret-file": "string",
        "insecure-no-auth": "boolean", "coalesce-ms": "integer", "dead-letter": "string", "queue-capacity": "integer",
        "demo": "boolean", "demo-rate": "integer",
    ]

    /// The values the file sets, by key.
    public var values: [String: String] = [:]

    /// An empty file: sets nothing.
    public init() {}

    /// An error in the file, with its path.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads and checks the file at `path`.
    public static func load(_ path: String) throws -> ServeConfigFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Invalid(description: "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    /// Parses YAML `text` (a mapping of option names to scalars).
    public static func parse(_ text: String, path: String = "configuration") throws -> ServeConfigFile {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw Invalid(description: "\(path): not valid YAML: \(error)") }
        guard let node else { return ServeConfigFile() }
        guard let mapping = node.mapping else { throw Invalid(description: "\(path): expected a mapping of option names to values") }
        var file = ServeConfigFile()
        for (key, value) in mapping {
            guard let name = key.string, let type = keys[name] else {
                throw Invalid(description: "\(path): unknown option '\(key.string ?? "?")' (known: \(keys.keys.sorted().joined(separator: ", ")))")
            }
            guard let scalar = value.scalar else { throw Invalid(description: "\(path): '\(name)' must be a \(type)") }
            switch type {
            case "integer": guard Int(scalar.string) != nil else { throw Invalid(description: "\(path): '\(name)' must be an integer") }
            case "boolean": guard Bool(scalar.string) != nil else { throw Invalid(description: "\(path): '\(name)' must be true or false") }
            default: break
            }
            file.values[name] = scalar.string
        }
        return file
    }

    /// A setting's value: from the environment (`RUNNEL_` + the key in capitals with `_`),
    /// else from the file; nil when neither sets it.
    public func value(_ key: String, environment: [String: String]) -> String? {
        environment["RUNNEL_" + key.uppercased().replacingOccurrences(of: "-", with: "_")] ?? values[key]
    }
}
