import lvslab_testinfra

lvslab_testinfra.register()
