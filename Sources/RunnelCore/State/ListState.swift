/// An ordered list of values per key (Flink's `ListState`).
public class ListState<Element> {
    init() {}
    /// The current key's elements (empty when none).
    public var elements: [Element] { fatalError("abstract") }
    /// Appends an element to the current key's list.
    public func append(_ element: Element) { fatalError("abstract") }
    /// Replaces the current key's list.
    public func update(_ elements: [Element]) { fatalError("abstract") }
    /// Removes the current key's list.
    public func clear() { fatalError("abstract") }
}

final class KeyedListState<Key: StreamKey, Element>: ListState<Element> {
    unowned let backend: KeyedStateBackend<Key>
    let table: KeyedStateTable<Key, [Element]>
    let ttl: StateTTL?

    init(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, [Element]>, ttl: StateTTL?) {
        self.backend = backend
        self.table = table
        self.ttl = ttl
    }

    override var elements: [Element] { table.read(backend, ttl: ttl) ?? [] }
    override func append(_ element: Element) {
        table.modify(backend, ttl: ttl, initial: { [] }) { $0.append(element) }
    }
    override func update(_ elements: [Element]) {
        if elements.isEmpty { table.remove(backend) } else { table.write(backend, ttl: ttl, elements) }
    }
    override func clear() { table.remove(backend) }
}
