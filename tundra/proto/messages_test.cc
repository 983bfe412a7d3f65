#include "tundra/proto/messages.h"

#include <gtest/gtest.h>

namespace tundra::proto {
namespace {

DropReason ClassifyBytes(std::vector<uint8_t> b, MessageType& t) { return Classify(b, t); }

std::vector<uint8_t> Msg(uint32_t type_word, size_t size) {
  std::vector<uint8_t> b(size, 0xaa);
  if (size >= 4) StoreLe32(b.data(), type_word);
  return b;
}

TEST(MessagesTest, ExactSizesAccepted) {
  MessageType t;
  EXPECT_EQ(ClassifyBytes(Msg(1, 148), t), DropReason::kNone);
  EXPECT_EQ(t, MessageType::kInitiation);
  EXPECT_EQ(ClassifyBytes(Msg(2, 92), t), DropReason::kNone);
  EXPECT_EQ(t, MessageType::kResponse);
  EXPECT_EQ(ClassifyBytes(Msg(3, 64), t), DropReason::kNone);
  EXPECT_EQ(t, MessageType::kCookieReply);
  EXPECT_EQ(ClassifyBytes(Msg(4, 32), t), DropReason::kNone);
  EXPECT_EQ(ClassifyBytes(Msg(4, 1500), t), DropReason::kNone);
  EXPECT_EQ(t, MessageType::kData);
}

TEST(MessagesTest, TruncatedOversizedAndUnknown) {
  MessageType t;
  for (size_t n : {0, 1, 2, 3}) EXPECT_EQ(ClassifyBytes(Msg(1, n), t), DropReason::kTooShort) << n;
  EXPECT_EQ(ClassifyBytes(Msg(1, 147), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(1, 149), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(2, 91), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(2, 93), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(3, 63), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(3, 65), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(4, 31), t), DropReason::kBadSize);
  EXPECT_EQ(ClassifyBytes(Msg(0, 148), t), DropReason::kUnknownType);
  EXPECT_EQ(ClassifyBytes(Msg(5, 148), t), DropReason::kUnknownType);
  // Non-zero reserved bytes: the whole word is compared.
  EXPECT_EQ(ClassifyBytes(Msg(0x0100'0001, 148), t), DropReason::kUnknownType);
  EXPECT_EQ(ClassifyBytes(Msg(0x0000'0104, 32), t), DropReason::kUnknownType);
}

TEST(MessagesTest, FieldOffsets) {
  EXPECT_EQ(Mac1Offset<MessageInitiation>(), 116u);
  EXPECT_EQ(Mac2Offset<MessageInitiation>(), 132u);
  EXPECT_EQ(Mac1Offset<MessageResponse>(), 60u);
  EXPECT_EQ(Mac2Offset<MessageResponse>(), 76u);
  uint8_t d[16] = {4, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 1, 0, 0, 0, 0, 0, 0, 0x80};
  EXPECT_EQ(DataReceiverIndex(d), 0x11223344u);
  EXPECT_EQ(DataCounter(d), 0x8000000000000001ull);
}

TEST(DropReasonTest, EveryReasonHasAName) {
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    EXPECT_STRNE(DropReasonName(static_cast<DropReason>(i)), "unknown") << i;
  }
}

}  // namespace
}  // namespace tundra::proto
