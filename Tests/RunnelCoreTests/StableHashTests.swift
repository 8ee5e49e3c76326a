import RunnelCore
import Testing

@Suite struct StableHashTests {
    @Test("string hashes never change: checkpoints place keys in key groups by them")
    func stableStringHashesArePinned() {
        // Every tail length (0-7 bytes) before and after one full word, ids as the replay
        // sees them, and non-ASCII text.
        let pinned: [(String, UInt64)] = [
            ("", 0x71b8_262b_b6e2_e086), ("a", 0x17a6_b669_2246_bd10), ("ab", 0x2563_d0b7_e8d2_b691),
            ("abc", 0x19f8_d4f1_df9f_c288), ("abcd", 0xb5db_339a_36c6_1387), ("abcde", 0xdca7_8c63_0bf1_922e),
            ("abcdef", 0x2821_40a8_4f6a_cfee), ("abcdefg", 0x8f00_b0c7_5f0a_908b), ("abcdefgh", 0xbd91_6473_33b6_9c0b),
            ("abcdefghi", 0x2429_606f_befd_5800), ("abcdefghij", 0x06ff_262e_6905_43f4), ("abcdefghijk", 0x91c1_32be_3770_902e),
            ("abcdefghijkl", 0x08d4_62be_3607_c5d5), ("abcdefghijklm", 0x4334_627a_0f11_799b),
            ("abcdefghijklmn", 0x5bcc_f39c_4e50_c201), ("abcdefghijklmno", 0x8c06_07b4_aee5_44b8),
            ("abcdefghijklmnop", 0xd305_0121_5f43_4751),
            ("u-16872", 0x949e_b123_5728_1212), ("p-375", 0x6348_1e14_27dc_7670),
            ("é", 0xb16a_0e28_f0b8_90d8), ("日本", 0xd593_4e8e_e08b_718b), ("ü-1234567", 0xfc09_5231_90d2_40c7),
            ("🎉-post-9", 0x0921_801e_2c52_9861),
            ("s-47526757-130f-4f52-a81c-e1ff0e4ae394", 0xbcaf_7ab0_2c67_c55e),
        ]
        for (text, hash) in pinned {
            #expect(text.stableHash == hash, "\(text)")
        }
    }
}
