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

	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
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
// armored) holding exactly one signature and nothing after it, made with a
// strong hash (see checkPackets) by a strong key (see weakKey) in keyring,
// cryptographically valid, dated no earlier than the key, and made by a
// key that is neither expired nor revoked at now. It returns the signing
// key and the signed body; the body must not be trusted when err is set.
func openMessage(keyring openpgp.KeyRing, data []byte, now time.Time) (*openpgp.Key, []byte, error) {
	raw := data
	if bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN ")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, nil, fmt.Errorf("bad armor: %v", err)
		}
		if block.Type != armorMessageType {
			return nil, nil, fmt.Errorf("armor block is %q, expected %q", block.Type, armorMessageType)
		}
		raw, err = io.ReadAll(io.LimitReader(block.Body, lookaside.MaxSize+1))
		if err != nil {
			return nil, nil, fmt.Errorf("bad armor: %v", err)
		}
		end := []byte("-----END " + armorMessageType + "-----")
		if i := bytes.Index(data, end); i >= 0 && len(bytes.TrimSpace(data[i+len(end):])) > 0 {
			return nil, nil, errors.New("trailing data after the armored message")
		}
	}
	if err := checkPackets(raw); err != nil {
		return nil, nil, err
	}
	r := bytes.NewReader(raw)
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
	if name, ok := hashNames[md.Signature.Hash]; !ok || weakHashes[md.Signature.Hash] {
		if !ok {
			name = md.Signature.Hash.String()
		}
		return nil, nil, fmt.Errorf("signature by key %016X uses the weak hash %s; SHA-2 or SHA-3 is required", md.SignedByKeyId, name)
	}
	for _, k := range []*packet.PublicKey{md.SignedBy.PublicKey, md.SignedBy.Entity.PrimaryKey} {
		if weak := weakKey(k); weak != "" {
			return nil, nil, fmt.Errorf("signed with a weak key %016X, %s; DSA and ElGamal keys and RSA keys under 2048 bits are refused", k.KeyId, weak)
		}
		if md.Signature.CreationTime.Before(k.CreationTime) {
			return nil, nil, fmt.Errorf("signature dated %s, before its key %016X was created (%s)", md.Signature.CreationTime.UTC().Format(time.RFC3339), k.KeyId, k.CreationTime.UTC().Format(time.RFC3339))
		}
	}
	return md.SignedBy, body, nil
}

// weakKey describes k when its algorithm or size is refused, else "".
func weakKey(k *packet.PublicKey) string {
	bits, _ := k.BitLength()
	switch k.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly, packet.PubKeyAlgoRSAEncryptOnly:
		if bits < 2048 {
			return fmt.Sprintf("an RSA key of %d bits", bits)
		}
	case packet.PubKeyAlgoDSA:
		return fmt.Sprintf("a DSA key of %d bits", bits)
	case packet.PubKeyAlgoElGamal, 20: // 20: the withdrawn ElGamal sign-or-encrypt
		return fmt.Sprintf("an ElGamal key of %d bits", bits)
	}
	return ""
}

// hashIDs and hashNames are the OpenPGP hash algorithms (RFC 9580, 9.5)
// by their octet and crypto.Hash; weakHashes are refused.
var (
	hashIDs = map[byte]crypto.Hash{
		1: crypto.MD5, 2: crypto.SHA1, 3: crypto.RIPEMD160, 8: crypto.SHA256, 9: crypto.SHA384,
		10: crypto.SHA512, 11: crypto.SHA224, 12: crypto.SHA3_256, 14: crypto.SHA3_512,
	}
	hashNames = map[crypto.Hash]string{
		crypto.MD5: "MD5", crypto.SHA1: "SHA-1", crypto.RIPEMD160: "RIPEMD-160", crypto.SHA256: "SHA-256",
		crypto.SHA384: "SHA-384", crypto.SHA512: "SHA-512", crypto.SHA224: "SHA-224",
		crypto.SHA3_256: "SHA3-256", crypto.SHA3_512: "SHA3-512",
	}
	weakHashes = map[crypto.Hash]bool{crypto.MD5: true, crypto.SHA1: true, crypto.RIPEMD160: true}
)

// OpenPGP packet tags (RFC 9580, 5).
const (
	tagSignature  = 2
	tagOnePass    = 4
	tagCompressed = 8
	tagMarker     = 10
	tagLiteral    = 11
)

// checkPackets reads the packet structure of the binary message raw before
// anything is verified: it must hold exactly one one-pass signature, one
// literal data packet and one signature (possibly inside one compressed
// packet, as gpg writes them) and nothing after the signature, and its
// hash must be strong. go-crypto would skip a one-pass signature with a
// hash it does not know (MD5, RIPEMD-160), read the message as unsigned
// and ignore what follows the signature.
func checkPackets(raw []byte) error {
	var ops, sigs, lits int
	var walk func(r io.Reader, nested bool) error
	walk = func(r io.Reader, nested bool) error {
		or := packet.NewOpaqueReader(r)
		for {
			p, err := or.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				if sigs > 0 {
					return fmt.Errorf("trailing data after the signature packet: %v", describe(err))
				}
				return fmt.Errorf("not an OpenPGP signed message: %v", describe(err))
			}
			if sigs > 0 && sigs >= ops && p.Tag != tagSignature && p.Tag != tagOnePass {
				return fmt.Errorf("trailing data after the signature packet (a packet of type %d)", p.Tag)
			}
			var at int // offset of the hash octet in the packet body
			switch p.Tag {
			case tagOnePass:
				ops++
				at = 2
			case tagSignature:
				sigs++
				at = 3
				if len(p.Contents) > 0 && p.Contents[0] == 3 {
					at = 16
				}
			case tagLiteral:
				lits++
			case tagCompressed:
				if nested {
					return errors.New("nested compressed packets")
				}
				c, err := p.Parse()
				if err != nil {
					return fmt.Errorf("bad compressed packet: %v", describe(err))
				}
				limit := int64(lookaside.MaxSize)
				if err := walk(c.(*packet.Compressed).LimitedBodyReader(&limit), true); err != nil {
					return err
				}
			}
			if at > 0 {
				if len(p.Contents) <= at {
					return fmt.Errorf("truncated packet of type %d", p.Tag)
				}
				h, known := hashIDs[p.Contents[at]]
				if !known {
					return fmt.Errorf("signature uses hash algorithm %d, which this verifier does not know; SHA-2 or SHA-3 is required", p.Contents[at])
				}
				if weakHashes[h] {
					return fmt.Errorf("signature uses the weak hash %s; SHA-2 or SHA-3 is required", hashNames[h])
				}
			}
		}
	}
	if err := walk(bytes.NewReader(raw), false); err != nil {
		return err
	}
	if n := max(ops, sigs); n > 1 {
		return fmt.Errorf("the file holds %d signatures; expected exactly one (each signature goes in its own signature-N file)", n)
	}
	if lits > 1 {
		return fmt.Errorf("the file holds %d signed messages; expected exactly one", lits)
	}
	return nil
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
