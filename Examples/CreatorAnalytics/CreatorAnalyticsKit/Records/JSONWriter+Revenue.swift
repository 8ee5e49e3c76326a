import RunnelJSON

extension JSONWriter {
    /// Writes amounts per currency as an object, currencies in order, amounts to the cent
    /// (amounts in different currencies are never added up).
    mutating func revenue(_ revenue: [String: Double]) {
        beginObject()
        for (currency, amount) in revenue.sorted(by: { $0.key < $1.key }) {
            key(currency)
            fixed(amount, decimals: 2)
        }
        endObject()
    }
}
