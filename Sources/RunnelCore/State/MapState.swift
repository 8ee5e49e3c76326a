/// A dictionary per key (Flink's `MapState`).
public class MapState<MapKey: Hashable, MapValue> {
    init() {}
    /// The value stored under `mapKey` for the current key; setting `nil` removes it.
    public subscript(mapKey: MapKey) -> MapValue? {
        get { fatalError("abstract") }
        set { fatalError("abstract") }
    }
    /// The current key's whole map (empty when none).
    public var entries: [MapKey: MapValue] { fatalError("abstract") }
    /// Removes the current key's map.
    public func clear() { fatalError("abstract") }
}

final class KeyedMapState<Key: StreamKey, MapKey: Hashable, MapValue>: MapState<MapKey, MapValue> {
    unowned let backend: KeyedStateBackend<Key>
    let table: KeyedStateTable<Key, [MapKey: MapValue]>
    let ttl: StateTTL?

    init(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, [MapKey: MapValue]>, ttl: StateTTL?) {
        self.backend = backend
        self.table = table
        self.ttl = ttl
    }

    override subscript(mapKey: MapKey) -> MapValue? {
        get { table.read(backend, ttl: ttl)?[mapKey] }
        set {
            let emptied = table.modify(backend, ttl: ttl, initial: { [:] }) { map -> Bool in
                map[mapKey] = newValue
                return map.isEmpty
            }
            if emptied { table.remove(backend) }
        }
    }
    override var entries: [MapKey: MapValue] { table.read(backend, ttl: ttl) ?? [:] }
    override func clear() { table.remove(backend) }
}
