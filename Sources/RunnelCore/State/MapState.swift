/// A dictionary per key (Flink's `MapState`).
public final class MapState<MapKey: Hashable, MapValue> {
    private let load: () -> [MapKey: MapValue]?
    private let put: (MapKey, MapValue?) -> Void
    private let removeAll: () -> Void

    init<Key: StreamKey>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, [MapKey: MapValue]>, ttl: StateTTL?) {
        load = { [backend] in table.read(backend, ttl: ttl) }
        put = { [backend] mapKey, value in
            var emptied = false
            table.modify(backend, ttl: ttl, initial: { [:] }) { map in
                map[mapKey] = value
                emptied = map.isEmpty
            }
            if emptied { table.remove(backend) }
        }
        removeAll = { [backend] in table.remove(backend) }
    }

    /// The value stored under `mapKey` for the current key; setting `nil` removes it.
    public subscript(mapKey: MapKey) -> MapValue? {
        get { load()?[mapKey] }
        set { put(mapKey, newValue) }
    }
    /// The current key's whole map (empty when none).
    public var entries: [MapKey: MapValue] { load() ?? [:] }
    /// Removes the current key's map.
    public func clear() { removeAll() }
}
