#!/usr/bin/env bash
# Build a signed, flat apt repository laid out like NVIDIA's
# (<root>/gpgkey, <root>/stable/deb/amd64/{InRelease,Packages,*.deb}) with
# stand-in packages named and versioned like the NVIDIA Container Toolkit's.
# The real packages come from NVIDIA's repository; these carry small scripts,
# so that the role's repository, key, pinning and hold are exercised for real
# by apt, except nvidia-ctk in nvidia-container-toolkit-base: that is the real
# release binary (NVIDIA_CTK_XZ, xz-compressed; version 1.20.0, whatever the
# package's version says), and the package's postinst makes
# /etc/nvidia-container-runtime/config.toml with it as NVIDIA's does
# (packaging/debian/nvidia-container-toolkit-base.postinst: `nvidia-ctk
# --quiet config --config-file=... --in-place`; the package ships no
# config.toml of its own). Two versions are published: the pinned one and a
# newer one the pin must not pick.
#   make-repo.sh ROOT PINNED NEWER NVIDIA_CTK_XZ     prints the signing key's fingerprint
set -euo pipefail
root=$1 pinned=$2 newer=$3 ctk_xz=$4
[ -f "$ctk_xz" ] || { echo "make-repo.sh: no nvidia-ctk at $ctk_xz" >&2; exit 1; }
rm -rf "$root"
repo=$root/stable/deb/amd64
mkdir -p "$repo"
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill all >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

package() {  # package NAME VERSION DEPENDS
  local name=$1 version=$2 depends=$3 dir=$work/$1_$2
  mkdir -p "$dir/DEBIAN" "$dir/usr/share/doc/$name"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: amd64"
    echo "Maintainer: kubegpu.nvidia contributors <kubegpu@example.invalid>"
    [ -n "$depends" ] && echo "Depends: $depends"
    echo "Description: test stand-in for NVIDIA's $name"
    echo " Not the real package: it comes from NVIDIA's repository."
  } >"$dir/DEBIAN/control"
  echo "stand-in for $name $version" >"$dir/usr/share/doc/$name/README"
  case $name in
    nvidia-container-toolkit-base)
      mkdir -p "$dir/usr/bin" "$dir/usr/lib/systemd/system"
      xz -dc "$ctk_xz" >"$dir/usr/bin/nvidia-ctk"
      chmod 0755 "$dir/usr/bin/nvidia-ctk"
      cat >"$dir/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  /usr/bin/nvidia-ctk --quiet config --config-file=/etc/nvidia-container-runtime/config.toml --in-place
fi
EOF
      chmod 0755 "$dir/DEBIAN/postinst"
      for tool in nvidia-cdi-hook nvidia-container-runtime; do
        printf '#!/bin/sh\necho "%s version %s (stand-in)"\n' "$tool" "${version%-*}" >"$dir/usr/bin/$tool"
        chmod 0755 "$dir/usr/bin/$tool"
      done
      printf '[Unit]\nDescription=Refresh NVIDIA CDI specification (stand-in)\n[Service]\nType=oneshot\nExecStart=/usr/bin/nvidia-ctk cdi generate\n[Install]\nWantedBy=multi-user.target\n' \
        >"$dir/usr/lib/systemd/system/nvidia-cdi-refresh.service"
      printf '[Unit]\nDescription=Trigger a CDI refresh (stand-in)\n[Path]\nPathChanged=/lib/modules\n[Install]\nWantedBy=multi-user.target\n' \
        >"$dir/usr/lib/systemd/system/nvidia-cdi-refresh.path"
      ;;
    nvidia-container-toolkit)
      mkdir -p "$dir/usr/bin"
      printf '#!/bin/sh\necho "nvidia-container-runtime-hook (stand-in)"\n' >"$dir/usr/bin/nvidia-container-runtime-hook"
      chmod 0755 "$dir/usr/bin/nvidia-container-runtime-hook"
      ;;
    libnvidia-container-tools)
      mkdir -p "$dir/usr/bin"
      printf '#!/bin/sh\necho "cli-version: %s (stand-in)"\n' "${version%-*}" >"$dir/usr/bin/nvidia-container-cli"
      chmod 0755 "$dir/usr/bin/nvidia-container-cli"
      ;;
  esac
  dpkg-deb --root-owner-group -Zxz --build "$dir" "$repo/${name}_${version}_amd64.deb" >/dev/null
}

for version in "$pinned" "$newer"; do
  package libnvidia-container1 "$version" ""
  package libnvidia-container-tools "$version" "libnvidia-container1 (>= $version)"
  package nvidia-container-toolkit-base "$version" ""
  package nvidia-container-toolkit "$version" \
    "nvidia-container-toolkit-base (= $version), libnvidia-container-tools (>= $version)"
done

(cd "$repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null && gzip -9kn Packages)
apt-ftparchive -o APT::FTPArchive::Release::Origin="kubegpu test" -o APT::FTPArchive::Release::Label="nvidia-container-toolkit stand-in" \
  release "$repo" >"$work/Release"
mv "$work/Release" "$repo/Release"

export GNUPGHOME=$work/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'kubegpu test repository <kubegpu@example.invalid>' ed25519 sign 1d
gpg --batch --quiet --armor --export >"$root/gpgkey"
gpg --batch --quiet --yes --clearsign -o "$repo/InRelease" "$repo/Release"
gpg --batch --quiet --yes --armor --detach-sign -o "$repo/Release.gpg" "$repo/Release"
gpg --batch --with-colons --list-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'
