import RunnelJSON

/// The device dimension of an event: the kind of device it came from.
///
/// Taken from `device_type` when the event reports it, else derived from `platform` (the
/// mobile apps run on phones); unknown otherwise.
public enum DeviceClass: UInt8, Sendable, CaseIterable {
    case desktop
    case tablet
    case phone

    /// The name on the wire and in records.
    public var name: String {
        switch self {
        case .desktop: "desktop"
        case .tablet: "tablet"
        case .phone: "phone"
        }
    }

    /// The class named by `device_type`, or derived from `platform`; nil when neither says.
    public init?(deviceType: UnsafeRawBufferPointer?, platform: UnsafeRawBufferPointer?) {
        if let deviceType {
            if JSONBytes.equal(deviceType, "desktop") { self = .desktop; return }
            if JSONBytes.equal(deviceType, "tablet") { self = .tablet; return }
            if JSONBytes.equal(deviceType, "phone") { self = .phone; return }
        }
        if let platform, JSONBytes.equal(platform, "mobile_ios") || JSONBytes.equal(platform, "mobile_android") {
            self = .phone
            return
        }
        return nil
    }
}
