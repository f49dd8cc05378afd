# Shared by scripts/abi-update.sh and scripts/abi-check.sh (sourced, not run).
# abi_dump LIB OUT: writes the ABI of the shared library LIB (built with debug
# information) as seen through the public headers, without build paths.
abi_dump() {
    abidw --headers-dir "$top/include/hyper2kvm" --drop-private-types --no-corpus-path \
        --no-comp-dir-path --no-show-locs --out-file "$2" "$1"
    # translation units are named by their path: keep it relative to the tree
    sed -i "s|path='$top/|path='|g" "$2"
}

# abi_map_check: every function a public header declares H2K_EXTERN is listed
# in src/libhyper2kvm.map, and the map lists nothing else.
abi_map_check() {
    local hdr map
    hdr=$(sed -n 's/^H2K_EXTERN[^(]*[ *]\(h2k_[a-z0-9_]*\)(.*/\1/p' "$top"/include/hyper2kvm/*.h | sort)
    map=$(sed -n 's/^ *\(h2k_[a-z0-9_]*\);$/\1/p' "$top/src/libhyper2kvm.map" | sort)
    if [ "$hdr" != "$map" ]; then
        echo "abi: the public headers and src/libhyper2kvm.map disagree:" >&2
        diff <(echo "$hdr") <(echo "$map") | sed -n 's/^< /  declared but not in the map: /p; s/^> /  in the map but not declared: /p' >&2
        return 1
    fi
}
