# Install rules and the Debian package (CPack).
#
#   make install PREFIX=/usr/local     binary, man pages, systemd unit, bash completion
#   make deb                           build-deb/tundra_VERSION_ARCH.deb (prefix /usr)
#
# The systemd unit names the installed binary; it is written at install time so that
# `cmake --install --prefix P` and CPack's staging (prefix /usr) both get the right path.
include(GNUInstallDirs)

install(TARGETS tundra RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES dist/man/tundra.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES dist/man/tundra.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES dist/bash-completion/tundra
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions)
# lib/systemd/system below the prefix (/usr/lib/systemd/system for the package).
set(TUNDRA_UNIT_TEMPLATE ${CMAKE_CURRENT_SOURCE_DIR}/dist/systemd/tundra@.service.in)
install(CODE "
  set(unit_dir \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  set(TUNDRA_BIN \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/tundra\")
  configure_file(\"${TUNDRA_UNIT_TEMPLATE}\" \"\$ENV{DESTDIR}\${unit_dir}/tundra@.service\" @ONLY)
  message(STATUS \"Installing: \$ENV{DESTDIR}\${unit_dir}/tundra@.service\")
")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tundra)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tundra maintainers <tundra@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "user-space WireGuard tunnels on the Linux TUN/TAP driver")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "tundra is a WireGuard implementation in user space (wireguard-go compatible, configured by wg)\n with TUN/TAP device tools, a user-space bridge and a network impairment relay.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
# Runtime dependencies: the shared libraries the binary links (dpkg-shlibdeps: libc6,
# libstdc++6, libgcc-s1, libssl3, libsodium23, libfmt9). `tundra demo` needs nothing else (its
# namespaces, netlink, ping and TCP stream are built in). wg and wg-quick come from
# wireguard-tools, which tundra works with but does not need to run.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "wireguard-tools")
# resolvconf (Debian's writes below /run, which tundra@.service may write; openresolv writes
# /etc/resolv.conf, which ProtectSystem=strict keeps read-only).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "iproute2, resolvconf")
include(CPack)
