// autocannon's verifyBody hook, loaded by path so it also works inside worker threads.
// A response whose body is not SCALEUP_EXPECT_BODY_BYTES long counts as a mismatch.
const expected = Number(process.env.SCALEUP_EXPECT_BODY_BYTES);

module.exports = (body) => Buffer.byteLength(body) === expected;
