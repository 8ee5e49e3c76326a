import RunnelJSON

/// The seven kinds of event the creator platform emits, with their wire names.
///
/// A one-byte raw value keeps `CreatorEvent` compact and makes the name cheap
/// to use as a key in per-kind counters.
public enum CreatorEventName: UInt8, Sendable, CaseIterable {
    case userRegistered
    case userLoggedIn
    case postViewed
    case postPublished
    case commentSubmitted
    case creatorSubscribed
    case paymentSucceeded

    /// Recognizes a wire name from raw UTF-8 bytes without allocating: the
    /// decoder calls this once per event, so it dispatches on length first
    /// and then compares bytes in place.
    ///
    /// - Returns: nil for any other byte sequence (matching is exact and case-sensitive).
    @inlinable
    public init?(wireName bytes: UnsafeRawBufferPointer) {
        let candidate: CreatorEventName
        switch bytes.count {
        case 11: candidate = .postViewed
        case 14: candidate = bytes.first == UInt8(ascii: "u") ? .userLoggedIn : .postPublished
        case 15: candidate = .userRegistered
        case 17: candidate = bytes.first == UInt8(ascii: "c") ? .commentSubmitted : .paymentSucceeded
        case 18: candidate = .creatorSubscribed
        default: return nil
        }
        let expected = candidate.staticWireName
        guard JSONBytes.equal(bytes, expected) else { return nil }
        self = candidate
    }

    /// Recognizes a wire name given as a `String` (tests, configuration).
    public init?(wireName: String) {
        var copy = wireName
        guard let name = copy.withUTF8({ CreatorEventName(wireName: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = name
    }

    /// The name as it appears in the `event_name` field, e.g. `post_viewed`.
    public var wireName: String {
        staticWireName.description
    }

    /// The wire name as static bytes, for allocation-free comparison and output.
    @inlinable
    public var staticWireName: StaticString {
        switch self {
        case .userRegistered: return "user_registered"
        case .userLoggedIn: return "user_logged_in"
        case .postViewed: return "post_viewed"
        case .postPublished: return "post_published"
        case .commentSubmitted: return "comment_submitted"
        case .creatorSubscribed: return "creator_subscribed"
        case .paymentSucceeded: return "payment_succeeded"
        }
    }
}
