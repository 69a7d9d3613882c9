package signing

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stagex/stagex-bazel/tools/signing/lookaside"
)

// ErrUnknownKey marks a signature made by a key that is not in the keyring
// it was checked against.
var ErrUnknownKey = errors.New("signed by a key that is not in the keyring")

const armorMessageType = "PGP MESSAGE"

// signMessage returns a binary OpenPGP signed message (one-pass signature,
// literal data, signature) holding body, signed by signer at time t.
func signMessage(signer *openpgp.Entity, body []byte, t time.Time) ([]byte, error) {
	cfg := &packet.Config{
		Time:        func() time.Time { return t },
		DefaultHash: crypto.SHA256,
	}
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, signer, &openpgp.FileHints{IsBinary: true, ModTime: t}, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// openMessage checks that data is an OpenPGP signed message (binary or
// armored) whose signature was made by a key in keyring, is
// cryptographically valid and was made by a key that is neither expired nor
// revoked at now. It returns the signing key and the signed body; the body
// must not be trusted when err is set.
func openMessage(keyring openpgp.KeyRing, data []byte, now time.Time) (*openpgp.Key, []byte, error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN ")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, nil, fmt.Errorf("bad armor: %v", err)
		}
		if block.Type != armorMessageType {
			return nil, nil, fmt.Errorf("armor block is %q, expected %q", block.Type, armorMessageType)
		}
		raw, err := io.ReadAll(io.LimitReader(block.Body, lookaside.MaxSize+1))
		if err != nil {
			return nil, nil, fmt.Errorf("bad armor: %v", err)
		}
		r = bytes.NewReader(raw)
	}
	limit := int64(lookaside.MaxSize)
	cfg := &packet.Config{
		Time:                       func() time.Time { return now },
		MaxDecompressedMessageSize: &limit,
	}
	md, err := openpgp.ReadMessage(r, keyring, nil, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("not an OpenPGP signed message: %v", err)
	}
	if md.IsEncrypted || md.IsSymmetricallyEncrypted {
		return nil, nil, errors.New("message is encrypted, expected a signed message")
	}
	if !md.IsSigned {
		return nil, nil, errors.New("message is not signed")
	}
	if md.SignedBy == nil {
		return nil, nil, fmt.Errorf("%w (key ID %016X)", ErrUnknownKey, md.SignedByKeyId)
	}
	body, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading signed data: %v", describe(err))
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("signed data is larger than %d bytes", limit)
	}
	if md.SignatureError != nil {
		return nil, nil, fmt.Errorf("bad signature by key %016X: %v", md.SignedByKeyId, describe(md.SignatureError))
	}
	if md.Signature == nil {
		return nil, nil, errors.New("no signature packet follows the signed data")
	}
	return md.SignedBy, body, nil
}

// describe turns go-crypto's verification errors into short reasons.
func describe(err error) string {
	switch {
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return "the key is revoked"
	case errors.Is(err, pgperrors.ErrKeyExpired):
		return "the key is expired"
	case errors.Is(err, pgperrors.ErrSignatureExpired):
		return "the signature is expired"
	}
	return strings.TrimPrefix(err.Error(), "openpgp: ")
}
