function(mica_add_boot_tests prefix dir)
endfunction()
