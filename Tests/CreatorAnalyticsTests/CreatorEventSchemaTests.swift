import CreatorAnalyticsKit
import Foundation
import RunnelHTTP
import RunnelOperators
import Testing

/// The event contract: the published JSON Schema file, the typed validator, and the
/// collector's use of it.
@Suite struct CreatorEventSchemaTests {
    /// A valid event of each kind, with every property the schema lists for it.
    static let valid: [String] = [
        #"{"event_id":"a0c78e77-41d8-426a-a264-86f911281a07","event_name":"user_registered","timestamp":"2026-02-22T23:59:59.434Z","user_id":"u-1","session_id":"s-1","platform":"web","device_type":"desktop","browser":"Firefox 121","os":"Windows 11","referrer":"","ip_address":"203.0.21.5","email":"u-1@example.com","username":"writer_1","role":"reader","registration_source":"ad_campaign_x"}"#,
        #"{"event_id":"b86c9a98-359e-4b62-a7a9-dc6739325fac","event_name":"user_logged_in","timestamp":"2026-02-22T23:59:59.935Z","user_id":"u-2","platform":"mobile_ios","device_type":"phone","ip_address":"2001:db8::1","login_method":"google_oauth"}"#,
        #"{"event_id":"CB435C8E-7461-4796-A775-DC7701564F61","event_name":"post_viewed","timestamp":"2026-02-22T23:59:58.183Z","post_id":"p-3","creator_id":"c-3","post_title":"Post 3","time_on_page_seconds":544,"scroll_depth_percentage":61.5}"#,
        #"{"event_id":"1c26015d-5352-45f6-a40c-093679e13bc4","event_name":"post_published","timestamp":"2026-02-22T23:59:58.059Z","user_id":"u-3","post_id":"p-new-1","post_title":"Post","post_type":"newsletter"}"#,
        #"{"event_id":"6aacd517-f0cd-4626-a471-f7715037adc3","event_name":"comment_submitted","timestamp":"2026-02-22T23:59:56.785Z","user_id":"u-4","post_id":"p-90","comment_id":"cm-1","parent_comment_id":null}"#,
        #"{"event_id":"530e0e61-18e9-485e-a8bf-f9ea304d9f96","event_name":"creator_subscribed","timestamp":"2026-02-22T23:59:56.373Z","subscriber_id":"u-8764","creator_id":"c-91","subscription_type":"paid","tier_name":"Gold"}"#,
        #"{"event_id":"2489f12c-886a-4874-ad3f-32263f2815f4","event_name":"payment_succeeded","timestamp":"2026-02-22T23:59:59.347Z","user_id":"u-5","creator_id":"c-213","subscription_id":"sub-1","amount":21.99,"currency":"USD","payment_method_type":"paypal","is_renewal":false,"extra":{"kept":true}}"#,
    ]

    @Test("the published JSON Schema file is the rendering of the table the validator uses")
    func publishedFileMatchesTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let published = try String(contentsOf: root.appendingPathComponent(CreatorEventSchema.publishedPath), encoding: .utf8)
        #expect(published == CreatorEventSchema.jsonSchemaDocument(),
                "regenerate it: swift run creator-analytics schema > \(CreatorEventSchema.publishedPath)")
        // And it says what the table says, read back as JSON.
        let document = try #require(try JSONSerialization.jsonObject(with: Data(published.utf8)) as? [String: Any])
        #expect(document["required"] as? [String] == CreatorEventSchema.commonRequired)
        let branches = try #require(document["allOf"] as? [[String: Any]])
        #expect(branches.count == CreatorEventName.allCases.count)
        for (branch, kind) in zip(branches, CreatorEventSchema.kinds) {
            let then = try #require(branch["then"] as? [String: Any])
            #expect(then["required"] as? [String] == kind.required)
            let properties = try #require(then["properties"] as? [String: Any])
            #expect(Set(properties.keys) == Set(kind.properties.map(\.name) + kind.required))
        }
    }

    @Test("one complete event of each kind, extra fields and null optional fields included, is valid")
    func validEvents() {
        let validator = CreatorEventValidator()
        let decoder = CreatorEventDecoder()
        for line in Self.valid {
            #expect(decoder.decode(string: line).event != nil, "\(line)")
            #expect(validator.validate(string: line) == nil, "\(line)")
        }
    }

    @Test("generated traffic follows the schema wherever the replay contract accepts it")
    func generatedTrafficFollowsTheSchema() {
        let decoder = CreatorEventDecoder()
        let validator = CreatorEventValidator()
        var checked = 0
        CreatorTrafficGenerator(seed: 11).generate(count: 20_000) { chunk in
            for line in String(decoding: chunk, as: UTF8.self).split(separator: "\n") where decoder.decode(string: String(line)).event != nil {
                checked += 1
                if let violation = validator.validate(string: String(line)) { Issue.record("\(violation): \(line)") }
            }
        }
        #expect(checked > 19_000)
    }

    @Test("whatever the schema accepts, the decoder accepts: the collector stores lines the validator passed without decoding them, and the job decodes them from the log")
    func validatorImpliesDecoder() {
        let decoder = CreatorEventDecoder()
        let validator = CreatorEventValidator()
        var lines: [String] = Self.valid
        CreatorTrafficGenerator(seed: 12).generate(count: 30_000) { chunk in
            lines += String(decoding: chunk, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        // Edge cases of the decoder's own rules: ids of other JSON types, empty strings,
        // fractional seconds, nulls.
        let base = Self.valid[2]
        lines += [
            base.replacingOccurrences(of: #""post_id":"p-3""#, with: #""post_id":3"#),
            base.replacingOccurrences(of: #""post_id":"p-3""#, with: #""post_id":"""#),
            base.replacingOccurrences(of: #""post_id":"p-3""#, with: #""post_id":null"#),
            base.replacingOccurrences(of: "58.183Z", with: "58Z"),
            base.replacingOccurrences(of: "58.183Z", with: "58.183456Z"),
            base.replacingOccurrences(of: "58.183Z", with: "58.183+01:00"),
            base.replacingOccurrences(of: #""creator_id":"c-3""#, with: #""creator_id":true"#),
        ]
        var passed = 0
        for line in lines where validator.validate(string: line) == nil {
            passed += 1
            if case .invalid(let reason) = decoder.decode(string: line) { Issue.record("the schema accepts, the decoder rejects (\(reason)): \(line)") }
        }
        #expect(passed > 29_000)
    }

    @Test("each kind of violation is reported with the property and a stable category", arguments: [
        // (a change to a valid event, the category expected)
        (2, #""time_on_page_seconds":544"#, #""time_on_page_seconds":"544""#, "type:time_on_page_seconds"),
        (2, #""time_on_page_seconds":544"#, #""time_on_page_seconds":-1"#, "range:time_on_page_seconds"),
        (2, #""scroll_depth_percentage":61.5"#, #""scroll_depth_percentage":150"#, "range:scroll_depth_percentage"),
        (2, #""post_title":"Post 3""#, #""post_title":["Post 3"]"#, "type:post_title"),
        (1, #""platform":"mobile_ios""#, #""platform":"tv""#, "value:platform"),
        (1, #""device_type":"phone""#, #""device_type":"Phone""#, "value:device_type"),
        (1, #""ip_address":"2001:db8::1""#, #""ip_address":"999.1.1.1""#, "format:ip_address"),
        (1, #""user_id":"u-2""#, #""user_id":7"#, "type:user_id"),
        (1, #""user_id":"u-2""#, #""user_id":null"#, "missing:user_id"),
        (0, #""role":"reader""#, #""role":"admin""#, "value:role"),
        (0, #""email":"u-1@example.com""#, #""email":"nobody""#, "format:email"),
        (0, #""event_id":"a0c78e77-41d8-426a-a264-86f911281a07""#, #""event_id":"e-1""#, "format:event_id"),
        (0, #""timestamp":"2026-02-22T23:59:59.434Z""#, #""timestamp":"yesterday""#, "format:timestamp"),
        (3, #""post_type":"newsletter""#, #""post_type":"video""#, "value:post_type"),
        (5, #""subscription_type":"paid""#, #""subscription_type":"gift""#, "value:subscription_type"),
        (6, #""amount":21.99"#, #""amount":"21.99""#, "type:amount"),
        (6, #""currency":"USD""#, #""currency":"usd""#, "format:currency"),
        (6, #""is_renewal":false"#, #""is_renewal":"no""#, "type:is_renewal"),
        (6, #""payment_method_type":"paypal""#, #""payment_method_type":"cash""#, "value:payment_method_type"),
        (6, #""event_name":"payment_succeeded""#, #""event_name":"payment_failed""#, "value:event_name"),
    ])
    func violations(base: Int, replacing: String, with replacement: String, category: String) throws {
        let line = Self.valid[base].replacingOccurrences(of: replacing, with: replacement)
        try #require(line != Self.valid[base], "the test's replacement did not apply")
        let violation = try #require(CreatorEventValidator().validate(string: line))
        #expect(violation.category == category)
        #expect(!violation.description.isEmpty)
    }

    @Test("a property of another kind of event is an extra field: not type-checked")
    func otherKindsPropertiesAreExtra() {
        let line = Self.valid[2].replacingOccurrences(of: #""post_id""#, with: #""amount":"lots","is_renewal":3,"post_id""#)
        #expect(CreatorEventValidator().validate(string: line) == nil)
    }

    @Test("messages name the property and what it must be")
    func messages() throws {
        let platform = Self.valid[1].replacingOccurrences(of: #""platform":"mobile_ios""#, with: #""platform":"tv""#)
        #expect(CreatorEventValidator().validate(string: platform)?.description == #"platform must be one of web, mobile_ios, mobile_android (got "tv")"#)
        let depth = Self.valid[2].replacingOccurrences(of: "61.5", with: "101")
        #expect(CreatorEventValidator().validate(string: depth)?.description == "scroll_depth_percentage must be between 0 and 100")
        #expect(CreatorEventValidator().validate(string: "[1,2]")?.category == "malformed")
    }

    @Test("the collector rejects events that break the schema, with the reason, and counts them by category")
    func collectorCountsByCategory() throws {
        let queue = EventQueue<CreatorEvent>(capacity: 100)
        let collector = EventCollector(queue: queue)
        let bad = [
            Self.valid[1].replacingOccurrences(of: #""platform":"mobile_ios""#, with: #""platform":"tv""#),
            Self.valid[6].replacingOccurrences(of: #""amount":21.99"#, with: #""amount":"21.99""#),
            Self.valid[6].replacingOccurrences(of: #""amount":21.99"#, with: #""amount":"1""#),
            #"{"event_id":"x","#,
        ]
        let body = (Self.valid + bad).joined(separator: "\n")
        let response = collector.handle(HTTPRequest(method: "POST", target: "/v1/events",
                                                    headers: [("Content-Type", "application/x-ndjson")], body: Array(body.utf8)))
        #expect(response.status == 202)
        #expect(queue.count == Self.valid.count)
        #expect(collector.accepted == Self.valid.count && collector.rejected == bad.count)
        #expect(collector.rejectedByCategory == ["value:platform": 1, "type:amount": 2, "malformed": 1])
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.contains(#"platform must be one of web, mobile_ios, mobile_android (got \"tv\")"#))
        #expect(text.contains("amount must be a number"))
    }
}
