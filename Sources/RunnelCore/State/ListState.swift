/// An ordered list of values per key (Flink's `ListState`).
public final class ListState<Element> {
    private let load: () -> [Element]?
    private let store: ([Element]) -> Void
    private let appendOne: (Element) -> Void

    init<Key: StreamKey>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, [Element]>, ttl: StateTTL?) {
        load = { [backend] in table.read(backend, ttl: ttl) }
        store = { [backend] elements in
            if elements.isEmpty { table.remove(backend) } else { table.write(backend, ttl: ttl, elements) }
        }
        appendOne = { [backend] element in
            table.modify(backend, ttl: ttl, initial: { [] }) { $0.append(element) }
        }
    }

    /// The current key's elements (empty when none).
    public var elements: [Element] { load() ?? [] }
    /// Appends an element to the current key's list.
    public func append(_ element: Element) { appendOne(element) }
    /// Replaces the current key's list.
    public func update(_ elements: [Element]) { store(elements) }
    /// Removes the current key's list.
    public func clear() { store([]) }
}
